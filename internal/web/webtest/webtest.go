// Package webtest holds what the browser tests of internal/web share:
// finding Debian's headless Chromium, starting it fenced off the network,
// and watching what the page asks for and reports. Only _test.go files
// import it.
package webtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Get serves a GET of target, with header, through h.
func Get(t *testing.T, h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// JSString quotes s as a JavaScript string literal.
func JSString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(errors.New("JSString: " + err.Error()))
	}
	return string(b)
}

// ChromiumPath is Debian's Chromium, or CHROMIUM_PATH. A missing browser
// fails the test, never skips it: CI installs it.
func ChromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CHROMIUM_PATH")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("Chromium is required for the browser test %s and was not found at %s (%v): "+
			"install it with `apt-get install -y chromium`, or set CHROMIUM_PATH", t.Name(), p, err)
	}
	return p
}

// Options configure NewBrowser.
type Options struct {
	Host          string        // host:port of the test server, the only one the page may reach
	Timeout       time.Duration // for all the steps of the test, from NewBrowser on
	Width, Height int           // of the window
}

// Log is what the page did.
type Log struct {
	Allowed  []string // requests and WebSockets to the test server
	Blocked  []string // requests and WebSockets to any other host
	Problems []string // exceptions, console errors, CSP violations, failed interceptions
	Console  []string // the other console messages, for failure messages
}

// Browser is a headless Chromium tab on the test server, with every
// request to another host blocked and recorded, and the page's console
// watched.
type Browser struct {
	T   *testing.T
	Ctx context.Context // the tab, with the test's deadline

	tab      context.Context // the tab, without it
	mu       sync.Mutex
	log      Log
	expected []string // substrings of problems that a test step causes on purpose
	stop     func()   // closes the browser and waits for the watchers
}

func (b *Browser) add(list *[]string, s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	*list = append(*list, s)
}

// Snapshot is a copy of the log so far.
func (b *Browser) Snapshot() Log {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Log{slices.Clone(b.log.Allowed), slices.Clone(b.log.Blocked), slices.Clone(b.log.Problems), slices.Clone(b.log.Console)}
}

// NewBrowser starts Chromium in a fresh profile, fenced to opts.Host, and
// closes it when the test ends.
func NewBrowser(t *testing.T, opts Options) *Browser {
	t.Helper()
	chromium := ChromiumPath(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		// A second fence behind the Fetch one below: no host name resolves,
		// so nothing that the browser itself may try leaves the machine.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(opts.Width, opts.Height),
	)
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	// Start the browser with no deadline (a deadline on the first run would
	// bind the browser's life to it); the steps have one.
	if err := chromedp.Do(tab); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting %s: %v", chromium, err)
	}
	ctx, cancelTimeout := context.WithTimeout(tab, opts.Timeout)
	b := &Browser{T: t, Ctx: ctx, tab: tab}
	host := opts.Host

	// Every request pauses until it is let through (this host) or failed
	// (any other). WebSockets are not paused by Fetch: their creation is
	// recorded, and one to another host fails the test. Subscribe before
	// Fetch.enable.
	paused := chromedp.Events(tab, fetch.RequestPaused)
	sockets := chromedp.Events(tab, network.WebSocketCreated)
	messages := chromedp.Console(tab)
	var watchers sync.WaitGroup
	watchers.Add(3)
	go func() {
		defer watchers.Done()
		var each sync.WaitGroup
		defer each.Wait()
		for ev, err := range paused {
			if err != nil {
				return
			}
			each.Add(1)
			go func() {
				defer each.Done()
				u, err := url.Parse(ev.Request.URL)
				local := err == nil && (u.Scheme == "data" || u.Scheme == "blob" ||
					((u.Scheme == "http" || u.Scheme == "ws") && u.Host == host))
				what := ev.Request.Method + " " + ev.Request.URL
				if local {
					b.add(&b.log.Allowed, what)
					_, err = chromedp.Call(tab, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				} else {
					b.add(&b.log.Blocked, what)
					_, err = chromedp.Call(tab, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
				}
				if err != nil && tab.Err() == nil {
					b.add(&b.log.Problems, fmt.Sprintf("interception of %s: %v", what, err))
				}
			}()
		}
	}()
	go func() {
		defer watchers.Done()
		for ev, err := range sockets {
			if err != nil {
				return
			}
			u, err := url.Parse(ev.URL)
			if err == nil && u.Scheme == "ws" && u.Host == host {
				b.add(&b.log.Allowed, "WebSocket "+ev.URL)
			} else {
				b.add(&b.log.Blocked, "WebSocket "+ev.URL)
			}
		}
	}()
	go func() {
		defer watchers.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			line := m.String()
			if len(line) > 300 {
				line = line[:300] + "..."
			}
			if m.URL != "" {
				line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			if m.IsException() || m.Type == chromedp.ConsoleError || strings.Contains(m.Text, "Content Security Policy") {
				b.add(&b.log.Problems, line)
			} else {
				b.add(&b.log.Console, line)
			}
		}
	}()
	var once sync.Once
	b.stop = func() {
		once.Do(func() {
			cancelTimeout()
			cancelTab() // closes the browser and ends the watchers' streams
			cancelAlloc()
			watchers.Wait()
		})
	}
	t.Cleanup(b.stop)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		t.Fatalf("Fetch.enable: %v", err)
	}
	return b
}

// ExpectProblems tolerates console errors that contain any of the
// substrings: the browser logs failed loads, which a test may cause.
func (b *Browser) ExpectProblems(substrings ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expected = append(b.expected, substrings...)
}

// Failf ends the test on a failed browser step, with what the page showed.
func (b *Browser) Failf(format string, args ...any) {
	b.T.Helper()
	dctx, cancel := context.WithTimeout(b.tab, 5*time.Second)
	defer cancel()
	text, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ""`))
	l := b.Snapshot()
	b.T.Fatalf(format+"\npage text: %q\nblocked: %q\nproblems: %q\nconsole: %q", append(args, text, l.Blocked, l.Problems, l.Console)...)
}

// Do runs browser actions.
func (b *Browser) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	if err := chromedp.Do(b.Ctx, steps...); err != nil {
		b.Failf("%s: %v", what, err)
	}
}

// Click clicks the element that sel selects.
func (b *Browser) Click(sel string) {
	b.T.Helper()
	b.Do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// Poll waits for a JavaScript expression to be truthy.
func (b *Browser) Poll(what, expr string, timeout time.Duration) {
	b.T.Helper()
	if _, err := chromedp.Run(b.Ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		b.Failf("waiting for %s: %v", what, err)
	}
}

// PollExplained is Poll that, on a timeout, shows what explain evaluates to.
func (b *Browser) PollExplained(what, explain, expr string, timeout time.Duration) {
	b.T.Helper()
	if _, err := chromedp.Run(b.Ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		state, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string](explain))
		b.Failf("waiting for %s: %v; %s", what, err, state)
	}
}

// Eval evaluates a JavaScript expression.
func Eval[T any](b *Browser, expr string) T {
	b.T.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.Failf("evaluating %s: %v", expr, err)
	}
	return v
}

// Finish closes the browser and fails the test on any blocked request or
// WebSocket, and on any problem the page reported that was not expected.
// It returns the log.
func (b *Browser) Finish() Log {
	b.T.Helper()
	b.stop()
	l := b.Snapshot()
	var problems []string
	for _, p := range l.Problems {
		if !slices.ContainsFunc(b.expected, func(e string) bool { return strings.Contains(p, e) }) {
			problems = append(problems, p)
		}
	}
	if len(l.Blocked) > 0 {
		b.T.Errorf("the page asked for %d resources on other hosts (blocked): %q", len(l.Blocked), l.Blocked)
	}
	if len(problems) > 0 {
		b.T.Errorf("the page reported problems: %q", problems)
	}
	return l
}

// WriteScreenshot writes png as name into a temp dir, and into testdata/
// when UPDATE_SCREENSHOTS=1.
func WriteScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(t.TempDir(), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		if err := os.WriteFile(filepath.Join("testdata", name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote testdata/%s (%d bytes)", name, len(png))
	}
}
