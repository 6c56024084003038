package store

// maybeSnapshot starts a background snapshot when SnapshotEvery actions
// passed since the last one and none is being written. Called from the
// apply loop; the state is immutable, so encoding it elsewhere is safe.
func (s *Store[S]) maybeSnapshot() {
	if s.opts.Snapshots == nil || s.Seq()-s.snapSeq < s.opts.SnapshotEvery || !s.snapshotting.CompareAndSwap(false, true) {
		return
	}
	state, seq := s.GetState(), s.Seq()
	s.snapSeq = seq
	s.snapWG.Add(1)
	go func() {
		defer s.snapWG.Done()
		defer s.snapshotting.Store(false)
		if err := s.saveSnapshot(state, seq); err != nil {
			s.opts.Logger.Error().Err(err).Uint64("seq", seq).Msg("snapshot failed; the log still holds everything")
		}
	}()
}

func (s *Store[S]) saveSnapshot(state S, seq uint64) error {
	data, err := s.opts.Codec.Encode(state)
	if err != nil {
		return err
	}
	return s.opts.Snapshots.SaveSnapshot(seq, data)
}
