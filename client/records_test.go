package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

// keys reads every record of the iterator and returns their PK_IDs.
func keys(t *testing.T, seq func(func(caspio.Record, error) bool)) []int64 {
	t.Helper()
	var out []int64
	for rec, err := range seq {
		require.NoError(t, err)
		n, err := rec["PK_ID"].(json.Number).Int64()
		require.NoError(t, err)
		out = append(out, n)
	}
	return out
}

func TestRecordsAllOrders(t *testing.T) {
	for _, version := range []string{"v2", "v3"} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t, sandbox.Options{})
			cfg := e.config()
			cfg.APIVersion = version
			c := e.clientWith(t, cfg, client.Options{})
			got := keys(t, c.Records(context.Background(), "Orders", caspio.Query{}))
			require.Len(t, got, 2500)
			for i, k := range got {
				require.Equal(t, int64(i+1), k, "every PK_ID once, in order")
			}
			reads := e.rec.requests("/" + map[string]string{"v2": "rest/v2", "v3": "integrations/rest/v3"}[version] + "/tables/Orders/records")
			want := 3 // v2: 1,000 + 1,000 + a short page of 500
			assert.Len(t, reads, want, "pages of 1,000")
		})
	}
}

func TestRecordsFilterAndOrder(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	c := e.client(t, client.Options{})
	ctx := context.Background()

	// A filter in key order: every match once, ascending, pages of 5 across the condition.
	shipped := keys(t, c.Records(ctx, "Orders", caspio.Query{Where: "Status = 'Shipped'", Select: []string{"Total"}, PageSize: 50}))
	require.NotEmpty(t, shipped)
	for i := 1; i < len(shipped); i++ {
		require.Less(t, shipped[i-1], shipped[i])
	}
	var all int
	for rec, err := range c.Records(ctx, "Orders", caspio.Query{PageSize: 1000}) {
		require.NoError(t, err)
		if rec["Status"] == "Shipped" {
			all++
		}
	}
	assert.Equal(t, all, len(shipped), "the filter matched what a full read finds")

	// The caller's order: pages by number, in that order.
	var last string
	n := 0
	for rec, err := range c.Records(ctx, "Orders", caspio.Query{OrderBy: "OrderDate DESC", Limit: 1200, PageSize: 500}) {
		require.NoError(t, err)
		d := rec["OrderDate"].(string)
		if last != "" {
			require.LessOrEqual(t, d, last)
		}
		last = d
		n++
	}
	assert.Equal(t, 1200, n, "the limit")
}

func TestRecordsBreakFetchesNoFurtherPage(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	c := e.client(t, client.Options{})
	n := 0
	for _, err := range c.Records(context.Background(), "Orders", caspio.Query{PageSize: 100}) {
		require.NoError(t, err)
		n++
		if n == 150 {
			break
		}
	}
	assert.Len(t, e.rec.requests("/rest/v2/tables/Orders/records"), 2)
}

func TestRecordsRecoverMidIteration(t *testing.T) {
	t.Run("429", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		var ev events
		c := e.client(t, client.Options{OnEvent: ev.add})
		n := 0
		for _, err := range c.Records(context.Background(), "Orders", caspio.Query{}) {
			require.NoError(t, err)
			n++
			if n == 1000 {
				e.fault(t, sandbox.Fault{Route: "/rest/v2/tables/Orders/records", Status: 429, RetryAfter: "0"})
			}
		}
		assert.Equal(t, 2500, n)
		assert.Len(t, e.rec.requests("/rest/v2/tables/Orders/records"), 4)
		require.Len(t, ev.of(client.EventResourceRetry), 1)
		assert.Equal(t, 429, ev.of(client.EventResourceRetry)[0].Status)
	})
	t.Run("401", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		c := e.client(t, client.Options{})
		n := 0
		for _, err := range c.Records(context.Background(), "Orders", caspio.Query{}) {
			require.NoError(t, err)
			n++
			if n == 1000 {
				e.fault(t, sandbox.Fault{Route: "/rest/v2/tables/Orders/records", Status: 401})
			}
		}
		assert.Equal(t, 2500, n)
		logins, refreshes := e.grants()
		assert.Equal(t, 1, logins)
		assert.Equal(t, 1, refreshes, "the 401 refreshed the token once")
		assert.Equal(t, 1, c.Stats().UnauthorizedRetries)
	})
	t.Run("no retry", func(t *testing.T) {
		e := newEnv(t, sandbox.Options{})
		c := e.client(t, client.Options{NoRetry: true})
		e.fault(t, sandbox.Fault{Route: "/rest/v2/tables/Orders/records", Status: 503, RetryAfter: "0"})
		var api *caspio.APIError
		for _, err := range c.Records(context.Background(), "Orders", caspio.Query{}) {
			require.ErrorAs(t, err, &api)
			break
		}
		assert.Equal(t, 503, api.Status)
	})
}

func TestRecordsWrites(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	c := e.client(t, client.Options{})
	ctx := context.Background()

	res, err := c.InsertRecords(ctx, "Orders", []caspio.Record{{"CustomerID": 1, "Product": "Widget", "Quantity": 2, "Total": 9.5, "Status": "New"}}, false)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, caspio.Inserted, res[0].Outcome)
	assert.Nil(t, res[0].Record)

	res, err = c.InsertRecords(ctx, "Orders", []caspio.Record{
		{"CustomerID": 2, "Product": "Gadget", "Quantity": 1, "Total": 3.25, "Status": "New"},
		{"NoSuchField": 1},
	}, true)
	require.Error(t, err)
	require.Len(t, res, 2)
	assert.Equal(t, caspio.Inserted, res[0].Outcome)
	assert.Equal(t, json.Number("2502"), res[0].Record["PK_ID"])
	assert.Equal(t, caspio.Refused, res[1].Outcome)
	var api *caspio.APIError
	require.ErrorAs(t, res[1].Err, &api)

	up, err := c.UpdateRecords(ctx, "Orders", "PK_ID >= 2501", map[string]any{"Status": "Paid"}, true)
	require.NoError(t, err)
	assert.Equal(t, 2, up.RecordsAffected)
	require.Len(t, up.Records, 2)
	assert.Equal(t, "Paid", up.Records[1]["Status"])
	up, err = c.UpdateRecords(ctx, "Orders", "PK_ID = 2501", map[string]any{"Quantity": 3}, false)
	require.NoError(t, err)
	assert.Equal(t, 1, up.RecordsAffected)
	assert.Empty(t, up.Records)

	n, err := c.DeleteRecords(ctx, "Orders", "PK_ID > 2500")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Len(t, keys(t, c.Records(ctx, "Orders", caspio.Query{Where: "PK_ID > 2490"})), 10)
}

func TestRecordsBadInput(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	c := e.client(t, client.Options{})
	ctx := context.Background()
	first := func(seq func(func(caspio.Record, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}

	var nf *caspio.NotFoundError
	err := first(c.Records(ctx, "NoSuchTable", caspio.Query{}))
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, "NoSuchTable", nf.Table)
	assert.Equal(t, "", nf.Field)

	err = first(c.Records(ctx, "Orders", caspio.Query{Select: []string{"Colour"}}))
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, "Colour", nf.Field)
	err = first(c.Records(ctx, "Orders", caspio.Query{Where: "Colour = 'red'"}))
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, "Colour", nf.Field)

	var api *caspio.APIError
	err = first(c.Records(ctx, "Orders", caspio.Query{Where: "Status = = 'x'"}))
	require.ErrorAs(t, err, &api)
	assert.False(t, errors.As(err, &nf))
	assert.Equal(t, "IncorrectQueryParameter", api.Code)
	assert.NotEmpty(t, api.RequestID)
	assert.NotEmpty(t, api.Message)

	before := len(e.rec.requests(""))
	var ce *caspio.ConfigError
	require.ErrorAs(t, first(c.Records(ctx, "Orders", caspio.Query{PageSize: 3})), &ce)
	assert.Equal(t, "PageSize", ce.Field)
	_, err = c.UpdateRecords(ctx, "Orders", " ", map[string]any{"Status": "x"}, false)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "where", ce.Field)
	_, err = c.DeleteRecords(ctx, "Orders", "")
	require.ErrorAs(t, err, &ce)
	assert.Len(t, e.rec.requests(""), before, "refused before any request")

	// A name that needs escaping stays one path segment.
	err = first(c.Records(ctx, "Orders/../Customers", caspio.Query{}))
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, "Orders/../Customers", nf.Table)
	reqs := e.rec.requests("")
	assert.True(t, strings.HasSuffix(reqs[len(reqs)-1].Path, "/tables/Orders/../Customers/records"), reqs[len(reqs)-1].Path)
}

func TestViewRecords(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	cfg := e.config()
	cfg.APIVersion = "v3"
	c := e.clientWith(t, cfg, client.Options{})
	ctx := context.Background()
	shipped := 0
	for rec, err := range c.Records(ctx, "Orders", caspio.Query{Where: "Status = 'Shipped'"}) {
		require.NoError(t, err)
		_ = rec
		shipped++
	}
	var pages, n int
	for page, err := range c.ViewPages(ctx, "ShippedOrders", caspio.Query{PageSize: 200}) {
		require.NoError(t, err)
		pages++
		n += len(page.Records)
		assert.Equal(t, shipped, page.Total)
		assert.NotContains(t, page.Records[0], "PK_ID", "the view has no key")
		assert.Equal(t, n >= shipped, page.Last, "page %d: the last page is the one that reaches the total", page.Number)
	}
	assert.Equal(t, shipped, n)
	assert.Equal(t, (shipped+199)/200, pages, "numbered pages, stopped by the total")

	var usa int
	for rec, err := range c.ViewRecords(ctx, "OrdersWithCustomers", caspio.Query{Where: "Customers_Country = 'USA'", OrderBy: "Orders_PK_ID", Select: []string{"Orders_PK_ID", "Customers_Name"}}) {
		require.NoError(t, err)
		assert.Len(t, rec, 2)
		usa++
	}
	assert.Positive(t, usa)

	var nf *caspio.NotFoundError
	for _, err := range c.ViewRecords(ctx, "NoSuchView", caspio.Query{}) {
		require.ErrorAs(t, err, &nf)
		assert.Equal(t, "NoSuchView", nf.Table)
	}
	req, err := c.NewRequest(ctx, "DELETE", "views/ShippedOrders/records?q.where=Quantity>1", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 405, resp.StatusCode, "views are read-only")
}

// TestRecordsChangesBetweenPages: records deleted behind the read and added ahead of it
// between pages neither make a record come twice nor be skipped, as page numbers would.
func TestRecordsChangesBetweenPages(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	c := e.client(t, client.Options{})
	ctx := context.Background()
	seen := map[int64]int{}
	page := 0
	for p, err := range c.Pages(ctx, "Orders", caspio.Query{PageSize: 100}) {
		require.NoError(t, err)
		for _, rec := range p.Records {
			k, _ := rec["PK_ID"].(json.Number).Int64()
			seen[k]++
		}
		if page++; page == 1 {
			// Delete ten records already read, and add one at the end.
			n, err := c.DeleteRecords(ctx, "Orders", "PK_ID > 10 AND PK_ID <= 20")
			require.NoError(t, err)
			require.Equal(t, 10, n)
			_, err = c.InsertRecords(ctx, "Orders", []caspio.Record{{"CustomerID": 1, "Product": "Late", "Quantity": 1, "Total": 1, "Status": "New"}}, false)
			require.NoError(t, err)
		}
	}
	assert.Len(t, seen, 2501, "every record once: the 2,500 and the one added")
	for k, n := range seen {
		require.Equal(t, 1, n, "PK_ID %d", k)
	}
}
