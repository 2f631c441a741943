package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// State is the JSON state file (--state, bench-state.json by default): what
// gen and run created on each server, so that later runs find it again.
// It is keyed by base URL without a trailing slash.
type State struct {
	Version int                     `json:"version"`
	Targets map[string]*TargetState `json:"targets"`
}

// TargetState is what the harness created on one server.
type TargetState struct {
	// Generated is the data set of the last gen against this server.
	Generated *Generated `json:"generated,omitempty"`
	// Small and Large are the factories of rest-factory-small and
	// rest-factory-large, created by run when missing.
	Small *FactoryRef `json:"small,omitempty"`
	Large *FactoryRef `json:"large,omitempty"`
}

// Generated describes a gen data set.
type Generated struct {
	Seed        uint64       `json:"seed"`
	Start       time.Time    `json:"start"`
	StepSeconds int64        `json:"step_seconds"`
	Points      int          `json:"points"` // per factory
	Factories   []FactoryRef `json:"factories"`
}

// FactoryRef is one factory the harness created.
type FactoryRef struct {
	// ID is the GraphQL global id; empty when the factory was created
	// through /v1 (a server without GraphQL).
	ID          string    `json:"id,omitempty"`
	RowID       int64     `json:"row_id"`
	Name        string    `json:"name"`
	Points      int       `json:"points"`
	Start       time.Time `json:"start"`
	StepSeconds int64     `json:"step_seconds"`
}

const stateVersion = 1

// loadState reads the state file; a missing file is an empty state.
func loadState(path string) (*State, error) {
	s := &State{Version: stateVersion, Targets: map[string]*TargetState{}}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("state file %s: %v (delete it to start afresh)", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("state file %s: version %d, want %d (delete it to start afresh)", path, s.Version, stateVersion)
	}
	if s.Targets == nil {
		s.Targets = map[string]*TargetState{}
	}
	return s, nil
}

// target returns the entry of a base URL, creating it.
func (s *State) target(url string) *TargetState {
	url = normalizeURL(url)
	t := s.Targets[url]
	if t == nil {
		t = &TargetState{}
		s.Targets[url] = t
	}
	return t
}

// save writes the state file atomically (a temporary file renamed over it).
func (s *State) save(path string) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sprocketbench-state-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func (f FactoryRef) series(seed uint64, index int) series {
	return series{seed: seed, index: index, start: f.Start.Unix(), step: f.StepSeconds}
}
