package main

import "fmt"

// defaultRatePerCaller is the requests a second one caller may send by default in caller mode: far
// above what an agent calling tools needs (a call reaches OpenRouter, whose own limits are lower),
// low enough that one client in a loop cannot take a replica's CPU from the rest.
const defaultRatePerCaller = 20

// parseRate settles the rate per caller: by default only in caller mode, where each caller has a
// key of their own; in server mode every caller shares the access token, so a rate per caller would
// be one rate for all of them (an operator may still set one).
func (cfg *config) parseRate() error {
	switch {
	case cfg.ratePer < -1:
		return fmt.Errorf("invalid --rate-per-caller %d: want requests a second, 0 for the default or -1 for no limit", cfg.ratePer)
	case cfg.burstPer < 0:
		return fmt.Errorf("invalid --burst-per-caller %d: want a positive number, or 0 for twice the rate", cfg.burstPer)
	case cfg.ratePer == -1:
		cfg.ratePer = 0
	case cfg.ratePer == 0 && cfg.manyCallers():
		cfg.ratePer = defaultRatePerCaller
	}
	if cfg.burstPer == 0 {
		cfg.burstPer = 2 * cfg.ratePer
	}
	return nil
}
