package pipeline

// splitTimings are the timings of a split over several BuildKit nodes:
// each node's solve, and their union for the run's line. The nodes build
// at the same time, so a part of the union took as long as its slowest
// node; the context counts every node's copy (each was sent).
func splitTimings(nodes []NodeSolved) (SolveTimings, []NodeTimings) {
	var u SolveTimings
	var per []NodeTimings
	for i := range nodes {
		n := &nodes[i]
		st := solveTimings(&n.Solved)
		per = append(per, NodeTimings{Node: n.Node.Name, Platforms: []string{n.Platform.String()}, SolveTimings: st})
		u.Context.Files = max(u.Context.Files, st.Context.Files)
		u.Context.Bytes += st.Context.Bytes
		u.Context.Upload = max(u.Context.Upload, st.Context.Upload)
		u.Export = max(u.Export, st.Export)
		u.CacheImport = max(u.CacheImport, st.CacheImport)
		u.CacheExport = max(u.CacheExport, st.CacheExport)
		u.published = u.published || st.published
		u.Builder = unionStep(u.Builder, st.Builder, i == 0)
		u.Cook = unionStep(u.Cook, st.Cook, i == 0)
		u.Build = unionStep(u.Build, st.Build, i == 0)
	}
	return u, per
}

// unionStep is a stage over several nodes: seen on any, reused only when
// every node that reached it reused it, and as long as the slowest.
func unionStep(a, b Step, first bool) Step {
	switch {
	case first || !a.Seen:
		return b
	case !b.Seen:
		return a
	}
	return Step{Seen: true, Reused: a.Reused && b.Reused, Took: max(a.Took, b.Took)}
}
