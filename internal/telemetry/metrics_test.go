package telemetry

import "testing"

// TestHTTPMetricsBoundTheMethodLabel: any method token a client sends
// beyond the standard ones is counted as "other".
func TestHTTPMetricsBoundTheMethodLabel(t *testing.T) {
	m := NewMetrics("test", nil, nil)
	for i := range 1000 {
		method := "X" + string(rune('A'+i%26)) + string(rune('A'+i/26%26)) + string(rune('A'+i/676))
		m.Requests.WithLabelValues("/graphql", method, "405").Inc()
		m.Duration.WithLabelValues("/graphql", method).Observe(0.01)
	}
	m.Requests.WithLabelValues("/graphql", "POST", "200").Inc()
	m.Duration.WithLabelValues("/graphql", "POST").Observe(0.01)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		switch f.GetName() {
		case "sprocket_http_requests_total", "sprocket_http_request_duration_seconds":
			methods := map[string]bool{}
			for _, s := range f.GetMetric() {
				for _, l := range s.GetLabel() {
					if l.GetName() == "method" {
						methods[l.GetValue()] = true
					}
				}
			}
			if len(f.GetMetric()) != 2 || !methods["other"] || !methods["POST"] {
				t.Errorf("%s: %d series, methods %v", f.GetName(), len(f.GetMetric()), methods)
			}
		}
	}
}
