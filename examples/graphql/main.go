// Command graphql is an example client of the Sprocket API's GraphQL API,
// typed by genqlient from the published schema (api/schema.graphql): it
// records a point next to factory 1's seed data and reads the chart back.
//
//	go run ./graphql -url http://localhost:8080/graphql [-token TOKEN]
package main

//go:generate go tool genqlient genqlient.yaml

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/Khan/genqlient/graphql"
)

func main() {
	url := flag.String("url", "http://localhost:8080/graphql", "the GraphQL endpoint")
	token := flag.String("token", "", "an API token (writes need one when the server has tokens)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := graphql.NewClient(*url, &http.Client{Transport: bearer{token: *token}})

	chart, err := FactoryChart(ctx, client, 1, 5)
	if err != nil {
		log.Fatalf("FactoryChart: %v", err)
	}
	f := chart.FactoryByRowId
	if f == nil {
		log.Fatal("factory 1 does not exist: start the server with SEED=true on an empty database")
	}
	fmt.Printf("%s (%s): %d points from %s to %s\n", f.Name, f.Id, f.Summary.Count,
		f.Summary.FirstTime.Format(time.RFC3339), f.Summary.LastTime.Format(time.RFC3339))

	// One minute after the factory's latest point: next to the seed data.
	next := f.Summary.LastTime.Add(time.Minute)
	rec, err := RecordProduction(ctx, client, f.Id, []PointInput{{Time: next, Actual: 31, Goal: 32}})
	if err != nil {
		log.Fatalf("RecordProduction: %v", err)
	}
	fmt.Printf("recorded %s: %d inserted, %d updated; now %d points, the latest at %s\n", next.Format(time.RFC3339),
		rec.RecordProduction.Inserted, rec.RecordProduction.Updated,
		rec.RecordProduction.Factory.Summary.Count, rec.RecordProduction.Factory.Summary.LastTime.Format(time.RFC3339))

	chart, err = FactoryChart(ctx, client, 1, 5)
	if err != nil {
		log.Fatalf("FactoryChart: %v", err)
	}
	s := chart.FactoryByRowId.Series
	for i := range s.Epochs {
		fmt.Printf("%s  actual %6.2f  goal %6.2f\n", time.Unix(s.Epochs[i], 0).UTC().Format(time.RFC3339), s.Actual[i], s.Goal[i])
	}
}

// bearer adds the API token to every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.token != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return http.DefaultTransport.RoundTrip(r)
}
