// Package logtest is the conformance suite that every store.Log backend
// must pass, so that the store can rely on the contract written on
// store.Log rather than on one backend's behaviour.
//
// A backend's test calls Run with a function that opens a new, empty log,
// and, if the log persists, RunReopen with one that can also close it and
// open the same log again:
//
//	func TestConformance(t *testing.T) {
//		logtest.Run(t, func(t *testing.T) store.Log { ... })
//		logtest.RunReopen(t, func(t *testing.T) (store.Log, func() store.Log) { ... })
//	}
//
// Run the suite with -race: one case reads while another goroutine appends.
package logtest
