package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/sim"
)

func simMergeCommand() *cobra.Command {
	const cmd = "thecal sim merge"
	c := command("merge [flags] FILE...", "add up the shards of a population run",
		`Adds up the exact counts that 'thecal sim population --shard I/N' wrote, one
file per shard, every shard of the same run exactly once, and writes the result as
one run would: the same bytes, whatever the number of shards.`, atLeastOneFile)
	out := populationOutputFlags(c.Flags())
	c.RunE = runs(func(args []string, stdout, stderr io.Writer) int {
		var parts []*sim.PopulationRaw
		for _, path := range args {
			data, err := os.ReadFile(path)
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
				return exitUsage
			}
			raw, err := decodeRaw(data)
			if err != nil {
				fmt.Fprintf(stderr, "%s: %s: %v\n", cmd, path, err)
				return exitUsage
			}
			parts = append(parts, raw)
		}
		raw, err := sim.MergePopulation(parts)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
			if errors.Is(err, sim.ErrMerge) {
				return exitUsage
			}
			return 1
		}
		return writePopulation(cmd, raw, out, stdout, stderr)
	})
	return c
}

// atLeastOneFile takes one file or more.
func atLeastOneFile(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return badInput("give the shards' files")
	}
	return nil
}

// decodeRaw reads a shard's file: JSON of sim.PopulationRaw, no unknown
// field, nothing after it.
func decodeRaw(data []byte) (*sim.PopulationRaw, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw sim.PopulationRaw
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a shard's counts: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a shard's counts: more data after the JSON value")
	}
	return &raw, nil
}
