//go:build race

package e2e

// raceEnabled reports, in the soak's figures, that the race detector (which multiplies memory) is on.
const raceEnabled = true
