package chef

// Helpers of the internal tests, for the external ones.
var (
	Fixture    = fixture
	TreeDigest = treeDigest
)
