// Command rest is an example client of the Sprocket API's legacy /v1
// routes (api/openapi.json): a small typed client, written by hand after
// the document's schemas, that adds a sprocket, reads it back and lists
// factory 1's series.
//
//	go run ./rest -url http://localhost:8080 [-token TOKEN]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"
)

// Sprocket is the document's Sprocket schema.
type Sprocket struct {
	ID              int     `json:"id"`
	Teeth           int     `json:"teeth"`
	PitchDiameter   float64 `json:"pitch_diameter"`
	OutsideDiameter float64 `json:"outside_diameter"`
	Pitch           float64 `json:"pitch"`
}

// NewSprocket is the document's NewSprocket schema: a sprocket without its id.
type NewSprocket struct {
	Teeth           int     `json:"teeth"`
	PitchDiameter   float64 `json:"pitch_diameter"`
	OutsideDiameter float64 `json:"outside_diameter"`
	Pitch           float64 `json:"pitch"`
}

// ChartData is the document's ChartData schema: three parallel columns.
type ChartData struct {
	Actual []float64 `json:"sprocket_production_actual"`
	Goal   []float64 `json:"sprocket_production_goal"`
	Time   []int64   `json:"time"`
}

// Factory is the document's Factory schema.
type Factory struct {
	ID        int       `json:"id"`
	ChartData ChartData `json:"chart_data"`
}

// Created is the document's Created schema, the body of a 201.
type Created struct {
	ID      int    `json:"id"`
	Message string `json:"message"`
}

// Error is a refusal: the status and the document's Message.
type Error struct {
	Status  int
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

// Client calls the /v1 routes of one server.
type Client struct {
	BaseURL string
	Token   string // sent on writes when set
	HTTP    *http.Client
}

// CreateSprocket adds a sprocket and returns its id.
func (c *Client) CreateSprocket(ctx context.Context, s NewSprocket) (int, error) {
	var out Created
	err := c.do(ctx, http.MethodPost, "/v1/sprockets", s, http.StatusCreated, &out)
	return out.ID, err
}

// Sprocket reads one sprocket.
func (c *Client) Sprocket(ctx context.Context, id int) (Sprocket, error) {
	var out Sprocket
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/sprockets/%d", id), nil, http.StatusOK, &out)
	return out, err
}

// Factory reads one factory with its whole series.
func (c *Client) Factory(ctx context.Context, id int) (Factory, error) {
	var out Factory
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/factories/%d", id), nil, http.StatusOK, &out)
	return out, err
}

func (c *Client) do(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
		if c.Token != "" {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		e := &Error{Status: res.StatusCode}
		_ = json.NewDecoder(res.Body).Decode(e)
		return e
	}
	return json.NewDecoder(res.Body).Decode(out)
}

func main() {
	url := flag.String("url", "http://localhost:8080", "the server")
	token := flag.String("token", "", "an API token (writes need one when the server has tokens)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &Client{BaseURL: *url, Token: *token, HTTP: &http.Client{}}

	id, err := c.CreateSprocket(ctx, NewSprocket{Teeth: 20, PitchDiameter: 10, OutsideDiameter: 11, Pitch: 2})
	if err != nil {
		log.Fatalf("create a sprocket: %v", err)
	}
	s, err := c.Sprocket(ctx, id)
	if err != nil {
		log.Fatalf("read sprocket %d: %v", id, err)
	}
	fmt.Printf("sprocket %d: %d teeth, pitch diameter %g, outside diameter %g, pitch %g\n",
		s.ID, s.Teeth, s.PitchDiameter, s.OutsideDiameter, s.Pitch)

	if _, err := c.Sprocket(ctx, 987654321); err != nil {
		fmt.Println("sprocket 987654321:", err)
	}

	f, err := c.Factory(ctx, 1)
	if err != nil {
		log.Fatalf("read factory 1: %v", err)
	}
	n := len(f.ChartData.Time)
	if n == 0 {
		log.Fatal("factory 1 has no points: start the server with SEED=true on an empty database")
	}
	fmt.Printf("factory %d: %d points from %s to %s\n", f.ID, n,
		time.Unix(f.ChartData.Time[0], 0).UTC().Format(time.RFC3339), time.Unix(f.ChartData.Time[n-1], 0).UTC().Format(time.RFC3339))
}
