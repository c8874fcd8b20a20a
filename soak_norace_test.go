//go:build !race

package main

// raceEnabled reports, in the soak's figures, that the race detector (which multiplies memory) is on.
const raceEnabled = false
