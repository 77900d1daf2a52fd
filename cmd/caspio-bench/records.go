package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

// records: rows per second reading all of the sandbox's Orders (2,500 records, pages of
// 1,000) with Client.Records, beside a hand-written loop over Do that pages in PK_ID order
// with q.pageNumber and q.pageSize and decodes the same way. Both run against one in-process
// sandbox, alternating, and the median round of each is reported.
func recordsBench(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("records", flag.ContinueOnError)
	rounds := fs.Int("rounds", 7, "rounds of each variant")
	reads := fs.Int("reads", 20, "reads of the whole table per round")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 || *rounds > 100 || *reads < 1 || *reads > 1000 {
		return fmt.Errorf("give -rounds from 1 to 100 and -reads from 1 to 1000")
	}
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	c, err := client.New(caspio.Config{IntegrationURL: srv.URL, ClientID: sandbox.DefaultClientID, ClientSecret: caspio.NewSecret(sandbox.DefaultClientSecret)}, client.Options{Now: sb.Now})
	if err != nil {
		return err
	}
	ctx := context.Background()

	helper := func() (int, error) {
		n := 0
		for _, err := range c.Records(ctx, "Orders", caspio.Query{}) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	hand := func() (int, error) {
		n := 0
		for page := 1; ; page++ {
			req, err := c.NewRequest(ctx, "GET", "tables/Orders/records?q.orderBy=PK_ID&q.pageSize=1000&q.pageNumber="+strconv.Itoa(page), nil)
			if err != nil {
				return n, err
			}
			resp, err := c.Do(req)
			if err != nil {
				return n, err
			}
			var body struct{ Result []caspio.Record }
			dec := json.NewDecoder(resp.Body)
			dec.UseNumber()
			err = dec.Decode(&body)
			resp.Body.Close()
			if err != nil {
				return n, err
			}
			for _, rec := range body.Result {
				if rec != nil {
					n++
				}
			}
			if len(body.Result) < 1000 {
				return n, nil
			}
		}
	}
	variants := []struct {
		name string
		read func() (int, error)
	}{{"hand-written loop over Do (q.pageNumber, baseline)", hand}, {"client.Records", helper}}
	for _, v := range variants { // warm up
		if n, err := v.read(); err != nil || n != 2500 {
			return fmt.Errorf("%s: %d records, %v", v.name, n, err)
		}
	}
	rates := make([][]float64, len(variants))
	for r := 0; r < *rounds; r++ {
		for i, v := range variants {
			start := time.Now()
			rows := 0
			for k := 0; k < *reads; k++ {
				n, err := v.read()
				if err != nil {
					return err
				}
				rows += n
			}
			rates[i] = append(rates[i], float64(rows)/time.Since(start).Seconds())
		}
	}
	fmt.Fprintf(out, "Reading all 2,500 Orders from the sandbox (in process), %d reads per round, median of %d rounds\n\n", *reads, *rounds)
	fmt.Fprintln(out, "| variant | rows per second | time per row vs baseline |")
	fmt.Fprintln(out, "| --- | ---: | ---: |")
	base := median(rates[0])
	for i, v := range variants {
		m := median(rates[i])
		fmt.Fprintf(out, "| %s | %.0f | %.2fx |\n", v.name, m, base/m)
	}
	return nil
}
