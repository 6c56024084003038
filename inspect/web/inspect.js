// The statecast inspector page: a timeline of the action log, the change
// each action made and the room after it. It reads the JSON API beside it
// (docs/inspector.md); the URL names the selected seq and the filters.
"use strict";
(function () {
  const api = "/inspect/api/";
  const $ = (id) => document.getElementById(id);
  const filterNames = ["room", "type", "user", "text"];
  const view = { entries: [], older: 0, last: 0, selected: 0, paused: false, held: [], source: null };

  function filters() {
    const f = {};
    for (const n of filterNames) if ($(n).value) f[n] = $(n).value;
    return f;
  }

  async function get(path, params) {
    const q = new URLSearchParams(params);
    const r = await fetch(api + path + "?" + q, { credentials: "same-origin" });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }

  function setStatus(text) { $("status").textContent = text; }

  function permalink() {
    const q = new URLSearchParams(filters());
    if (view.selected) q.set("seq", view.selected);
    history.replaceState(null, "", "/inspect/" + (q.toString() ? "?" + q : ""));
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function row(e) {
    const li = el("li");
    li.dataset.seq = e.seq;
    const t = new Date(e.at);
    for (const v of [e.seq, t.toISOString().slice(11, 23), e.type, e.room || "", e.user || "", e.summary]) li.append(el("span", "", String(v)));
    li.title = e.at;
    li.addEventListener("click", () => select(e.seq));
    return li;
  }

  function render() {
    const ol = $("timeline");
    ol.replaceChildren(...view.entries.map(row));
    $("older").hidden = !view.older;
    $("slider").max = Math.max(view.entries.length - 1, 0);
    mark();
  }

  function mark() {
    for (const li of $("timeline").children) li.classList.toggle("selected", Number(li.dataset.seq) === view.selected);
    const i = view.entries.findIndex((e) => e.seq === view.selected);
    if (i >= 0) $("slider").value = i;
  }

  function merge(list) {
    const bySeq = new Map(view.entries.map((e) => [e.seq, e]));
    for (const e of list) bySeq.set(e.seq, e);
    view.entries = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  // load shows the newest page of the timeline, or the pages around seq.
  async function load(seq) {
    const f = filters();
    view.entries = [];
    if (seq) {
      const [before, after] = await Promise.all([
        get("actions", { ...f, before: seq + 1, limit: 100 }),
        get("actions", { ...f, after: seq, limit: 100 }),
      ]);
      merge(before.actions.concat(after.actions));
      view.older = before.older;
      view.last = Math.max(before.last, after.newer);
    } else {
      const p = await get("actions", { ...f, limit: 200 });
      merge(p.actions);
      view.older = p.older;
      view.last = p.newer;
    }
    render();
    tail();
  }

  async function loadOlder() {
    const p = await get("actions", { ...filters(), before: view.older, limit: 200 });
    merge(p.actions);
    view.older = p.older;
    render();
  }

  // tail follows the log after the newest seq shown.
  function tail() {
    if (view.source) view.source.close();
    const q = new URLSearchParams({ ...filters(), after: view.last });
    view.source = new EventSource(api + "tail?" + q);
    view.source.addEventListener("action", (m) => {
      const e = JSON.parse(m.data);
      if (view.paused) {
        view.held.push(e);
        setStatus(view.held.length + " new actions (paused)");
        return;
      }
      append([e]);
    });
    view.source.addEventListener("last", (m) => { view.last = Math.max(view.last, Number(m.data)); });
  }

  function append(list) {
    if (!list.length) return;
    const atEnd = view.entries.length === 0 || view.entries[view.entries.length - 1].seq < list[0].seq;
    merge(list);
    const ol = $("timeline");
    if (atEnd) {
      for (const e of list) { const li = row(e); li.classList.add("new"); ol.append(li); }
      $("slider").max = Math.max(view.entries.length - 1, 0);
      mark();
    } else render();
    setStatus("live: seq " + view.entries[view.entries.length - 1].seq);
  }

  function togglePause() {
    view.paused = !view.paused;
    $("pause").textContent = view.paused ? "Resume" : "Pause";
    if (!view.paused) {
      const held = view.held;
      view.held = [];
      append(held);
    } else setStatus("paused");
  }

  async function select(seq) {
    view.selected = seq;
    mark();
    permalink();
    const entry = view.entries.find((e) => e.seq === seq);
    const room = $("room").value || (entry && entry.room) || "";
    try {
      const [change, state] = await Promise.all([get("change", { seq }), get("state", { seq, room })]);
      if (view.selected !== seq) return;
      showDetail(change, state, room);
    } catch (err) {
      $("detail").replaceChildren(el("p", "removed", String(err.message)));
    }
  }

  function table(head, rows) {
    const t = el("table");
    const tr = el("tr");
    for (const h of head) tr.append(el("th", "", h));
    t.append(tr);
    for (const r of rows) {
      const line = el("tr", r.cls || "");
      for (const c of r.cells) line.append(el("td", "", c));
      t.append(line);
    }
    return t;
  }

  function showDetail(change, state, room) {
    const d = $("detail");
    const e = change.entry;
    const parts = [el("h2", "", "seq " + e.seq + " · " + e.type + (e.room ? " · room " + e.room : "")),
      el("p", "", e.at + (e.user ? " · user " + e.user : "") + " · " + e.summary +
        (change.outcome.Applied ? "" : " · changed nothing"))];
    parts.push(el("h3", "", "Change"));
    const lines = [];
    for (const x of change.diffs) {
      if (x.entered) lines.push({ cls: "added", cells: [x.room, "entered", x.entered.id + " (" + x.entered.username + ")"] });
      if (x.left) lines.push({ cls: "removed", cells: [x.room, "left", x.left.id] });
      if (x.connected) lines.push({ cls: "added", cells: [x.room, "socket connected", x.connected.id + " as " + x.connected.userId] });
      if (x.closed) lines.push({ cls: "removed", cells: [x.room, "socket closed", x.closed.id] });
      for (const m of x.appended || []) lines.push({ cls: "added", cells: [x.room, "message", m.username + ": " + m.message] });
      if (x.dropped) lines.push({ cls: "removed", cells: [x.room, "dropped", x.dropped + " oldest messages"] });
    }
    parts.push(lines.length ? table(["room", "what", "detail"], lines) : el("p", "hint", "No visible change."));
    for (const r of state.rooms) {
      parts.push(el("h3", "", "Room " + r.name + " after seq " + state.seq));
      parts.push(table(["user", "name", "sockets", "grace since seq"], r.users.map((u) => ({
        cls: u.leftAt ? "grace" : "", cells: [u.user.id, u.user.username, String(u.sockets), u.leftAt ? String(u.leftAt) : ""],
      }))));
      parts.push(el("p", "hint", r.sockets + " sockets open in the room"));
      parts.push(table(["seq", "user", "message"], r.messages.map((m) => ({ cells: [String(m.seq), m.username, m.message] }))));
    }
    if (!state.rooms.length) parts.push(el("p", "hint", room ? "Room " + room + " does not exist yet." : "No rooms yet."));
    d.replaceChildren(...parts);
  }

  function step(by) {
    const i = view.entries.findIndex((e) => e.seq === view.selected) + by;
    if (i >= 0 && i < view.entries.length) select(view.entries[i].seq);
    else if (i < 0 && view.older) loadOlder().then(() => step(by));
  }

  async function jump(value) {
    value = value.trim();
    let seq = Number(value);
    if (!/^\d+$/.test(value)) seq = (await get("seq", { time: value })).seq;
    if (!seq) { setStatus("nothing at or before " + value); return; }
    await load(seq);
    const near = view.entries.filter((e) => e.seq <= seq).pop() || view.entries[0];
    if (near) select(near.seq);
  }

  let sliding = 0;
  $("slider").addEventListener("input", () => {
    clearTimeout(sliding);
    const e = view.entries[Number($("slider").value)];
    if (e) sliding = setTimeout(() => select(e.seq), 60);
  });
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); view.selected = 0; permalink(); load(0).catch(fail); });
  $("jumpform").addEventListener("submit", (ev) => { ev.preventDefault(); jump($("jump").value).catch(fail); });
  $("pause").addEventListener("click", togglePause);
  $("older").addEventListener("click", () => loadOlder().catch(fail));
  $("prev").addEventListener("click", () => step(-1));
  $("next").addEventListener("click", () => step(1));

  function fail(err) { setStatus(String(err.message || err)); }

  const params = new URLSearchParams(location.search);
  for (const n of filterNames) if (params.get(n)) $(n).value = params.get(n);
  const seq = Number(params.get("seq")) || 0;
  load(seq).then(() => { if (seq) select(seq); else setStatus("live"); }).catch(fail);
})();
