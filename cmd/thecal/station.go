package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/thecal/thecal/implant"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/programmer"
	"github.com/thecal/thecal/strictjson"
)

// thecal serve --station FILE: the clinic server as the clinic's programming
// station (docs/loop.md). The file says the station's credential (issued by
// the clinic authority with 'thecal keys issue --role clinician', kept 0600:
// it is refused otherwise), the trust file, and the pumps the station
// reaches, with the state directory through which the stand-in's programming
// head wakes each (thecal pump wake --contact):
//
//	{"identity": "station.id", "trust": "clinic.pub",
//	 "pumps": [{"serial": "4001", "address": "127.0.0.1:7400", "state": "pump4001"}]}
//
// Relative paths are read from the file's directory.

type stationFile struct {
	Identity string `json:"identity"`
	Trust    string `json:"trust"`
	Pumps    []struct {
		Serial  string `json:"serial"`
		Address string `json:"address"`
		State   string `json:"state"`
	} `json:"pumps"`
}

// readStation reads a station file.
func readStation(path string) (*programmer.Station, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := parseStation(b)
	if err != nil {
		return nil, fmt.Errorf("--station %s: %w", path, err)
	}
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(filepath.Dir(path), p)
	}
	id, tr, err := peer.Load(rel(f.Identity), rel(f.Trust))
	if err != nil {
		return nil, fmt.Errorf("--station %s: %w", path, err)
	}
	st := &programmer.Station{Identity: id, Trust: tr, Pumps: map[string]programmer.StationPump{}}
	for _, p := range f.Pumps {
		sp := programmer.StationPump{Addr: p.Address}
		if dir := rel(p.State); dir != "" {
			sp.Wake = func(ctx context.Context) error {
				_, err := implant.Control(ctx, dir, "wake contact")
				return err
			}
		}
		st.Pumps[p.Serial] = sp
	}
	return st, nil
}

// parseStation reads a station file's content: every pump with its serial
// and address, none twice.
func parseStation(b []byte) (*stationFile, error) {
	var f stationFile
	if err := strictjson.Unmarshal(b, &f, strictjson.NullRefused); err != nil {
		return nil, err
	}
	if f.Identity == "" || f.Trust == "" {
		return nil, fmt.Errorf("identity and trust are required")
	}
	seen := map[string]bool{}
	for i, p := range f.Pumps {
		if p.Serial == "" || p.Address == "" {
			return nil, fmt.Errorf("pumps[%d]: serial and address are required", i)
		}
		if seen[p.Serial] {
			return nil, fmt.Errorf("pumps[%d]: pump %s is listed twice", i, p.Serial)
		}
		seen[p.Serial] = true
	}
	return &f, nil
}
