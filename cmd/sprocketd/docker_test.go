package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/sprocketapi/sprocket/internal/config"
)

// No Docker engine runs here (nor in CI): the Dockerfile and the compose
// file are checked by the parsers Docker itself uses, BuildKit's (with the
// rules of `docker build --check`) and compose-spec's loader.

// TestTheDockerfileFollowsItsRules: BuildKit parses it without a lint
// warning; the cgo build keeps Go's build and module caches in cache
// mounts; the image runs as a non-root user, probes itself and stops on
// SIGTERM.
func TestTheDockerfileFollowsItsRules(t *testing.T) {
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ast.Warnings {
		t.Errorf("parser warning: %s", w.Short)
	}
	var warnings []string
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, _ []parser.Range) {
		warnings = append(warnings, rule+": "+msg)
	}})
	stages, _, err := instructions.Parse(ast.AST, lint)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("docker build --check rules: %v", warnings)
	}
	if len(stages) != 2 {
		t.Fatalf("%d stages, want build and runtime", len(stages))
	}

	var cached []string // cache mounts of the RUN that builds sprocketd
	for _, c := range stages[0].Commands {
		if run, ok := c.(*instructions.RunCommand); ok && strings.Contains(run.String(), "go build") {
			// Mounts are read when the instruction is expanded.
			if err := run.Expand(func(word string) (string, error) { return word, nil }); err != nil {
				t.Fatal(err)
			}
			for _, m := range instructions.GetMounts(run) {
				if m.Type == instructions.MountTypeCache {
					cached = append(cached, m.Target)
				}
			}
		}
	}
	for _, want := range []string{"/root/.cache/go-build", "/go/pkg/mod"} {
		if !slices.Contains(cached, want) {
			t.Errorf("the go build has no cache mount on %s (has %v)", want, cached)
		}
	}

	var user, stop string
	var health bool
	for _, c := range stages[1].Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.StopSignalCommand:
			stop = c.Signal
		case *instructions.HealthCheckCommand:
			health = slices.Contains(c.Health.Test, "healthcheck")
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("the image runs as %q, want a non-root user", user)
	}
	if stop != "SIGTERM" {
		t.Errorf("STOPSIGNAL %q, want SIGTERM (sprocketd's graceful shutdown)", stop)
	}
	if !health {
		t.Error("no HEALTHCHECK running sprocketd healthcheck")
	}
}

// loadCompose loads docker-compose.yml as `docker compose config` would,
// with env as the environment.
func loadCompose(env map[string]string) (*types.Project, error) {
	dir, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	if err != nil {
		return nil, err
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: "docker-compose.yml", Content: b}},
		Environment: env,
	}, func(o *loader.Options) { o.SetProjectName("sprocket", true) })
}

// TestTheComposeFileFollowsItsRules: compose's loader accepts the file;
// the API is published on loopback unless asked otherwise; its token comes
// from the environment (no default: without API_TOKENS the file does not
// load); it stops with more time than SHUTDOWN_GRACE; it waits for the
// database; PostgreSQL's health check goes over TCP.
func TestTheComposeFileFollowsItsRules(t *testing.T) {
	const token = "a-token-from-the-environment"
	p, err := loadCompose(map[string]string{"API_TOKENS": token})
	if err != nil {
		t.Fatal(err)
	}
	api, err := p.GetService("api")
	if err != nil {
		t.Fatal(err)
	}
	if got := api.Environment["API_TOKENS"]; got == nil || *got != token {
		t.Errorf("API_TOKENS %v, want the environment's", got)
	}
	for _, port := range api.Ports {
		if port.HostIP != "127.0.0.1" {
			t.Errorf("port %d is published on %q, want 127.0.0.1", port.Target, port.HostIP)
		}
	}
	if len(api.Ports) == 0 {
		t.Error("the API publishes no port")
	}

	cfg, err := config.Load(func(k string) string {
		if v := api.Environment[k]; v != nil {
			return *v
		}
		return ""
	})
	if err != nil {
		t.Fatalf("the api service's environment does not load: %v", err)
	}
	if api.StopGracePeriod == nil || time.Duration(*api.StopGracePeriod) <= cfg.ShutdownGrace {
		t.Errorf("stop_grace_period %v, want more than SHUTDOWN_GRACE (%v)", api.StopGracePeriod, cfg.ShutdownGrace)
	}
	if cfg.DatabaseWait <= 0 {
		t.Error("the API does not wait for its database (DATABASE_WAIT)")
	}
	if dep, ok := api.DependsOn["db"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("api depends on db %+v, want service_healthy", dep)
	}

	db, err := p.GetService("db")
	if err != nil {
		t.Fatal(err)
	}
	if db.HealthCheck == nil || !strings.Contains(strings.Join(db.HealthCheck.Test, " "), "pg_isready -h 127.0.0.1") {
		t.Errorf("db health check %v, want pg_isready over TCP (-h 127.0.0.1)", db.HealthCheck)
	}

	if _, err := loadCompose(map[string]string{}); err == nil || !strings.Contains(err.Error(), "API_TOKENS") {
		t.Errorf("without API_TOKENS the file loads (%v); want an error naming it", err)
	}
	other, err := loadCompose(map[string]string{"API_TOKENS": token, "SPROCKET_PUBLISH": "0.0.0.0:9090"})
	if err != nil {
		t.Fatal(err)
	}
	if api, _ := other.GetService("api"); len(api.Ports) != 1 || api.Ports[0].HostIP != "0.0.0.0" || api.Ports[0].Published != "9090" {
		t.Errorf("SPROCKET_PUBLISH=0.0.0.0:9090 gives %+v", api.Ports)
	}
}
