//go:build !linux

package benchrun

import "time"

func resetPeakRSS() {}

// peakRSS is unknown off Linux.
func peakRSS() int64 { return 0 }

// processCPU is unknown off Linux.
func processCPU() time.Duration { return 0 }
