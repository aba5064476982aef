//go:build !linux

package main

func resetPeakRSS() {}

// peakRSS is unknown off Linux.
func peakRSS() int64 { return 0 }
