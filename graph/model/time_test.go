package model

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// timeGrammar is the documented output grammar: RFC 3339 in UTC for years
// 0001-9999, a signed six-digit year otherwise ("-000000" never).
var timeGrammar = regexp.MustCompile(`^(?:\d{4}|[+-]\d{6})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d*[1-9])?Z$`)

func checkGrammar(t *testing.T, sec int64, s string) {
	t.Helper()
	if !timeGrammar.MatchString(s) || strings.HasPrefix(s, "-000000") {
		t.Errorf("%d is written %q, outside the grammar", sec, s)
	}
	y := time.Unix(sec, 0).UTC().Year()
	if fourDigits := s[0] != '+' && s[0] != '-'; fourDigits != (y >= 1 && y <= 9999) {
		t.Errorf("%d (year %d) is written %q", sec, y, s)
	}
}

func TestTimeFormatsAndParsesAtTheEdges(t *testing.T) {
	for _, c := range []struct {
		sec  int64
		text string
	}{
		{minTimeEpoch, "-271821-04-20T00:00:00Z"},
		{minTimeEpoch + 1, "-271821-04-20T00:00:01Z"},
		{maxTimeEpoch - 1, "+275760-09-12T23:59:59Z"},
		{maxTimeEpoch, "+275760-09-13T00:00:00Z"},
		{0, "1970-01-01T00:00:00Z"},
		{-1, "1969-12-31T23:59:59Z"},
		{1611194818, "2021-01-21T02:06:58Z"},
		{1611194818000, "+053026-09-25T04:06:40Z"}, // a 13-digit legacy time
		{1611154400000, "+053025-06-14T08:53:20Z"},
		{253402300799, "9999-12-31T23:59:59Z"},
		{253402300800, "+010000-01-01T00:00:00Z"},
		{-62135596800, "0001-01-01T00:00:00Z"},
		{-62135596801, "+000000-12-31T23:59:59Z"},
		{-62167219200, "+000000-01-01T00:00:00Z"},
		{-62167219201, "-000001-12-31T23:59:59Z"},
		{-62198755200, "-000001-01-01T00:00:00Z"},
		{-62162121600, "+000000-02-29T00:00:00Z"}, // year 0 is a leap year
		{951782400, "2000-02-29T00:00:00Z"},
	} {
		got := FormatTime(time.Unix(c.sec, 0))
		if got != c.text {
			t.Errorf("FormatTime(%d) = %q, want %q", c.sec, got, c.text)
		}
		checkGrammar(t, c.sec, got)
		back, err := ParseTime(c.text)
		if err != nil || back.Unix() != c.sec || back.Nanosecond() != 0 || back.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v (%d), %v; want %d", c.text, back, back.Unix(), err, c.sec)
		}
		// The marshaler writes the same text as a JSON string.
		var buf bytes.Buffer
		MarshalTime(time.Unix(c.sec, 0)).MarshalGQL(&buf)
		if buf.String() != strconv.Quote(c.text) {
			t.Errorf("MarshalTime(%d) = %s", c.sec, buf.String())
		}
	}
}

func TestTimeInputForms(t *testing.T) {
	ok := map[string]int64{
		// RFC 3339 with offsets and fractions, as before.
		"2024-05-01T12:00:00+02:00":         1714557600,
		"2024-05-01T12:00:00-00:00":         1714564800,
		"2024-05-01T12:00:00.5Z":            1714564800,
		"2024-05-01T12:00:00.1234567891Z":   1714564800,
		"1969-12-31T23:59:59.999999999Z":    -1,
		"2024-05-01T12:00:00.000000000Z":    1714564800,
		"0000-01-01T00:00:00Z":              -62167219200, // JS toISOString's year 0
		"0000-12-31T23:59:59Z":              -62135596801,
		"+002024-05-01T12:00:00Z":           1714564800, // the expanded form of a 4-digit year
		"+000000-01-01T00:00:00Z":           -62167219200,
		"-000001-12-31T23:59:59Z":           -62167219201,
		"+053025-06-14T08:53:20Z":           1611154400000,
		"+053025-06-14T10:53:20+02:00":      1611154400000,
		"-271821-04-20T00:00:00Z":           minTimeEpoch,
		"-271821-04-19T23:00:00-01:00":      minTimeEpoch,
		"+275760-09-13T00:00:00Z":           maxTimeEpoch,
		"+275760-09-13T00:00:00.999Z":       maxTimeEpoch, // its second is in the domain
		"+275760-09-13T01:00:00+01:00":      maxTimeEpoch,
		"9999-12-31T23:59:59-01:00":         253402304399, // year 10000 in UTC: in the domain now
		"0001-01-01T00:00:00+01:00":         -62135600400, // year 0 in UTC
		"2024-02-29T00:00:00Z":              1709164800,
		"-000004-02-29T00:00:00Z":           -62288352000, // -4 is a leap year
		"+010000-01-01T00:00:00Z":           253402300800,
		"9999-12-31T23:59:59Z":              253402300799,
		"2021-01-21T02:06:58Z":              1611194818,
		"2024-05-01T12:00:00+23:59":         1714478460,
		"+275760-09-12T23:59:59.000000001Z": maxTimeEpoch - 1,
	}
	for s, want := range ok {
		got, err := ParseTime(s)
		if err != nil || got.Unix() != want {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", s, got.Unix(), err, want)
			continue
		}
		if got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) is not in UTC", s)
		}
		// What it parses to is written in a form it parses back.
		if again, err := ParseTime(FormatTime(got)); err != nil || !again.Equal(got) {
			t.Errorf("%q: %q does not parse back: %v %v", s, FormatTime(got), again, err)
		}
	}
	if got, _ := ParseTime("2024-05-01T12:00:00.1234567891Z"); got.Nanosecond() != 123456789 {
		t.Errorf("fraction beyond nanoseconds: %d ns", got.Nanosecond())
	}
	if got := FormatTime(time.Unix(1714564800, 500_000_000)); got != "2024-05-01T12:00:00.5Z" {
		t.Errorf("a half second is written %q", got)
	}
	if got := FormatTime(time.Unix(1611194818000, 1)); got != "+053026-09-25T04:06:40.000000001Z" {
		t.Errorf("a nanosecond in year 53026 is written %q", got)
	}

	syntax := []string{
		"", " ", "2024-05-01", "2024-05-01T12:00:00", "2024-05-01 12:00:00Z", "2024-05-01t12:00:00Z",
		"2024-05-01T12:00:00z", "2024-05-01T12:00:00+0100", "2024-05-01T12:00:00+1:00",
		"2024-05-01T12:00:00+01:00:00", "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00,5Z",
		"2024-5-01T12:00:00Z", "2024-05-1T12:00:00Z", "2024-05-01T1:00:00Z", "2024-05-01T12:00:00ZZ",
		"2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z", "2024-05-01T12:00:60Z", "2024-13-01T12:00:00Z",
		"2024-00-01T12:00:00Z", "2024-05-00T12:00:00Z", "2024-04-31T12:00:00Z", "2023-02-29T12:00:00Z",
		"1900-02-29T00:00:00Z", "+000001-02-29T00:00:00Z", "2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00+01:60",
		"-000000-01-01T00:00:00Z", // ECMAScript: year 0 is +000000
		"+53025-06-14T08:53:20Z", "53025-06-14T08:53:20Z", "+0053025-06-14T08:53:20Z", "+2024-05-01T12:00:00Z",
		"-2024-05-01T12:00:00Z", "++02024-05-01T12:00:00Z", "+-02024-05-01T12:00:00Z", "１２３４-05-01T12:00:00Z",
		"2024-05-01T12:00:00Z\x00", "2024-05-01T12:00:00Z ", "+275760-09-13T00:00:00", "0x7E8-05-01T12:00:00Z",
	}
	for _, s := range syntax {
		if got, err := ParseTime(s); err != errTimeSyntax {
			t.Errorf("ParseTime(%q) = %v, %v; want the syntax error", s, got, err)
		}
	}
	outside := []string{
		"+275760-09-13T00:00:01Z", "+275760-09-13T00:00:00-00:01", "+275761-01-01T00:00:00Z", "+999999-12-31T23:59:59Z",
		"-271821-04-19T23:59:59Z", "-271821-04-20T00:00:00+00:01", "-271821-04-19T23:59:59.999999999Z", "-999999-01-01T00:00:00Z",
	}
	for _, s := range outside {
		if got, err := ParseTime(s); err != errTimeRange {
			t.Errorf("ParseTime(%q) = %v, %v; want the range error", s, got, err)
		}
	}
	for _, v := range []any{nil, 1611194818, 1.5, true, []any{"2024-05-01T12:00:00Z"}} {
		if _, err := UnmarshalTime(v); err != errTimeSyntax {
			t.Errorf("UnmarshalTime(%#v): %v", v, err)
		}
	}
	if len(errTimeSyntax.Error()) > 300 || len(errTimeRange.Error()) > 300 {
		t.Error("the messages are too long")
	}
}

// TestTimeRoundTripsEverySecondOfTheDomain (a sample of it): format then
// parse gives the same second, the text follows the grammar, and for years
// 0001-9999 it is exactly Go's RFC 3339.
func TestTimeRoundTripsEverySecondOfTheDomain(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for i := 0; i < n; i++ {
		var sec int64
		switch i % 4 {
		case 0: // anywhere in the domain
			sec = minTimeEpoch + r.Int64N(maxTimeEpoch-minTimeEpoch+1)
		case 1: // years 0001-9999
			sec = -62135596800 + r.Int64N(253402300799+62135596800+1)
		case 2: // around the year boundaries 0/1 and 9999/10000
			base := []int64{-62135596800, -62167219200, 253402300800, minTimeEpoch, maxTimeEpoch}[r.IntN(5)]
			sec = base + r.Int64N(2*86400*366) - 86400*366
		default: // around the edges
			sec = []int64{minTimeEpoch, maxTimeEpoch}[r.IntN(2)] + r.Int64N(201) - 100
		}
		if sec < minTimeEpoch || sec > maxTimeEpoch {
			continue
		}
		in := time.Unix(sec, 0)
		s := FormatTime(in)
		checkGrammar(t, sec, s)
		back, err := ParseTime(s)
		if err != nil || back.Unix() != sec {
			t.Fatalf("%d: %q parses to %d, %v", sec, s, back.Unix(), err)
		}
		if y := in.UTC().Year(); y >= 0 && y <= 9999 {
			rfc := in.UTC().Format(time.RFC3339)
			if y >= 1 && s != rfc {
				t.Fatalf("%d: %q, Go writes %q", sec, s, rfc)
			}
			// The 4-digit form (year 0 included, as JS writes it) parses
			// to the same second, as Go's parser reads it.
			if back, err := ParseTime(rfc); err != nil || back.Unix() != sec {
				t.Fatalf("%d: %q parses to %d, %v", sec, rfc, back.Unix(), err)
			}
		}
		// With a fraction and an offset, the same instant.
		frac := r.Int64N(1e9)
		off := (r.Int64N(48) - 24 + 1) * 1800 % 86400
		local := time.Unix(sec, frac).In(time.FixedZone("", int(off)))
		y := local.Year()
		if y < -999999 || y > 999999 {
			continue
		}
		var yt string
		if y >= 0 && y <= 9999 && r.IntN(2) == 0 {
			yt = strconv.Itoa(10000 + y)[1:]
		} else if y < 0 {
			yt = "-" + strconv.Itoa(1000000 - y)[1:]
		} else {
			yt = "+" + strconv.Itoa(1000000 + y)[1:]
		}
		zone := "Z"
		if off != 0 || r.IntN(2) == 0 {
			sign, a := "+", off
			if off < 0 {
				sign, a = "-", -off
			}
			zone = sign + strconv.Itoa(100 + int(a/3600))[1:] + ":" + strconv.Itoa(100 + int(a%3600/60))[1:]
		}
		text := yt + local.Format("-01-02T15:04:05.000000000") + zone
		back, err = ParseTime(text)
		if err != nil || !back.Equal(local) {
			t.Fatalf("%q parses to %v, %v; want %v", text, back, err, local.UTC())
		}
	}
}

// TestTimeParsesWhatGoParsesInRFC3339: for well-formed RFC 3339 strings
// with four-digit years, ParseTime reads the instant Go's time.Parse reads.
func TestTimeParsesWhatGoParsesInRFC3339(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		sec := -62167219200 + r.Int64N(253402300799+62167219200+1)
		off := (r.Int64N(1439*2+1) - 1439) * 60
		s := time.Unix(sec, r.Int64N(1e9)).In(time.FixedZone("", int(off))).Format(time.RFC3339Nano)
		if len(s) < 4 || s[0] == '-' || strings.IndexByte(s, '-') != 4 {
			continue
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("Go refuses its own %q: %v", s, err)
		}
		got, err := ParseTime(s)
		w := want.Unix()
		if w < minTimeEpoch || w > maxTimeEpoch {
			continue
		}
		if err != nil || !got.Equal(want) {
			t.Fatalf("ParseTime(%q) = %v, %v; Go reads %v", s, got, err, want)
		}
	}
}

// TestTimeAgreesWithJavaScriptDate checks a handful of Times with
// JavaScript's Date, as the dashboard and browsers read and write them:
// Date parses what FormatTime writes to the same instant, and what
// toISOString writes (without milliseconds, as the dashboard sends it)
// ParseTime reads to the same second. Skipped only when node is absent;
// the grammar above is asserted either way.
func TestTimeAgreesWithJavaScriptDate(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	secs := []int64{minTimeEpoch, minTimeEpoch + 1, -62198755200, -62167219201, -62167219200, -62135596801,
		-62135596800, -1, 0, 1611194818, 253402300799, 253402300800, 1611194818000, maxTimeEpoch - 1, maxTimeEpoch}
	var texts []string
	for _, s := range secs {
		texts = append(texts, strconv.Quote(FormatTime(time.Unix(s, 0))))
	}
	nums := make([]string, len(secs))
	for i, s := range secs {
		nums[i] = strconv.FormatInt(s, 10)
	}
	script := `const texts = [` + strings.Join(texts, ",") + `], secs = [` + strings.Join(nums, ",") + `];
for (let i = 0; i < texts.length; i++) {
  const ms = Date.parse(texts[i]);
  const iso = new Date(secs[i] * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  console.log(String(ms / 1000) + ' ' + iso);
}
console.log(String(Date.parse('-000000-01-01T00:00:00Z')) + ' ' + String(Date.parse('+275760-09-13T00:00:01Z')));`
	out, err := exec.Command(node, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(secs)+1 {
		t.Fatalf("node wrote %q", out)
	}
	for i, line := range lines[:len(secs)] {
		f := strings.Fields(line)
		if len(f) != 2 || f[0] != nums[i] {
			t.Errorf("JavaScript reads %s as %q, want %d", texts[i], line, secs[i])
			continue
		}
		if got, err := ParseTime(f[1]); err != nil || got.Unix() != secs[i] {
			t.Errorf("JavaScript writes %d as %q, which parses to %d, %v", secs[i], f[1], got.Unix(), err)
		}
	}
	if lines[len(secs)] != "NaN NaN" {
		t.Errorf("JavaScript accepts -000000 or a time past its range: %q", lines[len(secs)])
	}
}
