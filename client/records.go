package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"

	"github.com/caspio-auth/caspio"
)

// Records reads the records of table that q selects, a page at a time as the loop asks for
// them: breaking out of the loop fetches no further page. The rules of paging are the core's
// (see caspio.Paging): a table read without an order of the caller's pages by PK_ID, so
// that records added or deleted meanwhile are neither skipped nor handed out twice; one in
// the caller's own order pages by page number, which promises that only while the table is
// still. Numbers are json.Number. An error ends the loop: a *caspio.ConfigError for a bad q
// (before any request), a *caspio.NotFoundError for an unknown table or field, a
// *caspio.APIError for what else Caspio refused (its message and request ID).
//
//	for rec, err := range c.Records(ctx, "Orders", caspio.Query{Where: "Status = 'Shipped'"}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(rec["PK_ID"], rec["Total"])
//	}
func (c *Client) Records(ctx context.Context, table string, q caspio.Query) iter.Seq2[caspio.Record, error] {
	return records(c.pages(ctx, caspio.SourceTable, table, q))
}

// ViewRecords reads the records of a view as Records reads a table's. A view has no key:
// it pages by page number (see caspio.Paging for what that promises).
func (c *Client) ViewRecords(ctx context.Context, view string, q caspio.Query) iter.Seq2[caspio.Record, error] {
	return records(c.pages(ctx, caspio.SourceView, view, q))
}

// Pages reads the records of table as Records does, a whole page at a time.
func (c *Client) Pages(ctx context.Context, table string, q caspio.Query) iter.Seq2[*RecordsPage, error] {
	return c.pages(ctx, caspio.SourceTable, table, q)
}

// ViewPages reads the records of a view as Pages reads a table's.
func (c *Client) ViewPages(ctx context.Context, view string, q caspio.Query) iter.Seq2[*RecordsPage, error] {
	return c.pages(ctx, caspio.SourceView, view, q)
}

// RecordsPage is one page of a read.
type RecordsPage struct {
	Records []caspio.Record
	Number  int // the page's number, from 1 (from Query.StartPage on)
	Size    int // the records asked for per request
	Total   int // the records the request matched, from v3's Pagination.TotalCount; -1 when Caspio gave none
	// Last reports that the read ends with this page, as the paging rules decided: a short
	// page, v3's TotalCount reached, the Query's Limit. After a full page of a v2 read it is
	// false, since there the end shows only in the next answer.
	Last bool
}

func records(pages iter.Seq2[*RecordsPage, error]) iter.Seq2[caspio.Record, error] {
	return func(yield func(caspio.Record, error) bool) {
		for page, err := range pages {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, rec := range page.Records {
				if !yield(rec, nil) {
					return
				}
			}
		}
	}
}

func (c *Client) pages(ctx context.Context, source, name string, q caspio.Query) iter.Seq2[*RecordsPage, error] {
	return func(yield func(*RecordsPage, error) bool) {
		if err := c.usable(); err != nil {
			yield(nil, err)
			return
		}
		p, err := caspio.NewPaging(source, name, q)
		if err != nil {
			yield(nil, fmt.Errorf("caspio client: records: %w", err))
			return
		}
		size := p.Size()
		cur := p.Start()
		for n := 1; !cur.Done; n++ {
			number := cur.Page
			recs, facts, err := c.readPage(ctx, p.Ref(cur), name)
			if err != nil {
				yield(nil, err)
				return
			}
			next, keep, err := p.Next(cur, facts)
			if err != nil {
				yield(nil, fmt.Errorf("caspio client: records: %w", err))
				return
			}
			cur = next
			if keep == 0 && n > 1 {
				continue // the empty page that ends a read
			}
			if !yield(&RecordsPage{Records: recs[:keep], Number: number, Size: size, Total: facts.Total, Last: cur.Done}, nil) {
				return
			}
		}
	}
}

// pageBody is a records read's answer: v2 {"Result"}, v3 {"Result", "Pagination"}.
type pageBody struct {
	Result     *[]caspio.Record
	Pagination *struct{ TotalCount *int }
}

// readPage sends one page's request and reads the answer and the facts the rules need.
func (c *Client) readPage(ctx context.Context, ref, name string) ([]caspio.Record, caspio.Page, error) {
	var body pageBody
	if err := c.call(ctx, http.MethodGet, ref, name, nil, &body); err != nil {
		return nil, caspio.Page{}, err
	}
	facts := caspio.Page{Count: -1, Total: -1}
	var recs []caspio.Record
	if body.Result != nil {
		recs = *body.Result
		facts.Count = len(recs)
		if len(recs) > 0 {
			if key, ok := recs[len(recs)-1]["PK_ID"].(json.Number); ok {
				facts.LastKey = key.String()
			}
		}
	}
	if body.Pagination != nil && body.Pagination.TotalCount != nil {
		facts.Total = *body.Pagination.TotalCount
	}
	return recs, facts, nil
}

// call sends one records request with Do and decodes a 2xx answer's JSON into out (when
// there is a body); another answer is a *caspio.NotFoundError or *caspio.APIError.
func (c *Client) call(ctx context.Context, method, ref, name string, in any, out any) error {
	_, err := c.send(ctx, method, ref, name, in, out)
	return err
}

// send is call that reports the status, 0 when no answer came.
func (c *Client) send(ctx context.Context, method, ref, name string, in any, out any) (int, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("caspio client: records: the values do not encode as JSON: %w", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := c.NewRequest(ctx, method, ref, body)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRecordsBody))
	if resp.StatusCode/100 != 2 {
		var decoded any
		if json.Unmarshal(data, &decoded) != nil {
			decoded = nil
		}
		api := caspio.NewAPIError(resp.StatusCode, resp.Header.Get("X-Caspio-Request-ID"), decoded)
		return resp.StatusCode, fmt.Errorf("caspio client: records: %w", caspio.RecordsError(api, name))
	}
	if err != nil {
		return resp.StatusCode, fmt.Errorf("caspio client: records: reading the answer: %w", err)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return resp.StatusCode, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("caspio client: records: %w", &caspio.ResponseError{Status: resp.StatusCode, Problem: "the answer is not the JSON expected: " + err.Error()})
	}
	return resp.StatusCode, nil
}

// maxRecordsBody bounds an answer read into memory: a page of 1,000 wide records.
const maxRecordsBody = 64 << 20

// WriteResult is what Caspio answered a write.
type WriteResult struct {
	RecordsAffected int
	Records         []caspio.Record // the rows written, when they were asked for
}

// writeBody is a write's answer: {"RecordsAffected", "Result"}.
type writeBody struct {
	RecordsAffected int
	Result          []caspio.Record
}

// UpdateRecords sets values (a map or struct that encodes as a JSON object of field values)
// in the records of table that where matches, and answers how many, with the rows as
// changed when returnRows. An empty where is refused before any request (a
// *caspio.ConfigError): Caspio refuses it too, and the refusal cannot change a whole table by
// mistake.
func (c *Client) UpdateRecords(ctx context.Context, table, where string, values any, returnRows bool) (WriteResult, error) {
	return c.write(ctx, http.MethodPut, caspio.OpUpdate, table, where, values, returnRows)
}

// DeleteRecords deletes the records of table that where matches and answers how many. An
// empty where is refused before any request, as for UpdateRecords.
func (c *Client) DeleteRecords(ctx context.Context, table, where string) (int, error) {
	r, err := c.write(ctx, http.MethodDelete, caspio.OpDelete, table, where, nil, false)
	return r.RecordsAffected, err
}

func (c *Client) write(ctx context.Context, method, op, table, where string, values any, returnRows bool) (WriteResult, error) {
	if err := c.usable(); err != nil {
		return WriteResult{}, err
	}
	ref, err := caspio.RecordsRef(op, table, where, returnRows)
	if err != nil {
		return WriteResult{}, fmt.Errorf("caspio client: %s records: %w", op, err)
	}
	var body writeBody
	if err := c.call(ctx, method, ref, table, values, &body); err != nil {
		return WriteResult{}, err
	}
	return WriteResult{RecordsAffected: body.RecordsAffected, Records: body.Result}, nil
}

// InsertResult is what became of one record of InsertRecords.
type InsertResult struct {
	// Outcome is caspio.Inserted, caspio.Refused (Caspio answered that it did nothing: send
	// it again once Err is dealt with) or caspio.Unknown (a 5xx or no answer: it may be in;
	// check before sending it again).
	Outcome string
	Record  caspio.Record // the row as inserted, when returnRows and Caspio answered it
	Err     error         // why, when not inserted
}

// InsertRecords inserts rows into table, one request per row as Caspio takes them, and
// answers what became of each, in order. A POST is never sent again once it may have
// reached Caspio, so a row whose outcome is caspio.Unknown may or may not be in. The error
// is nil when every row was inserted, else it says how many were not; the results say
// which. A bad table name is refused before any request.
func (c *Client) InsertRecords(ctx context.Context, table string, rows []caspio.Record, returnRows bool) ([]InsertResult, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	ref, err := caspio.RecordsRef(caspio.OpInsert, table, "", returnRows)
	if err != nil {
		return nil, fmt.Errorf("caspio client: insert records: %w", err)
	}
	out := make([]InsertResult, len(rows))
	failed := 0
	var first error
	for i, row := range rows {
		var body writeBody
		status, err := c.send(ctx, http.MethodPost, ref, table, row, &body)
		var api *caspio.APIError
		switch {
		case err == nil:
			out[i].Outcome = caspio.InsertOutcome(status)
		case errors.As(err, &api):
			out[i].Outcome = caspio.InsertOutcome(api.Status)
		default:
			out[i].Outcome = caspio.InsertOutcome(0)
		}
		out[i].Err = err
		if len(body.Result) > 0 {
			out[i].Record = body.Result[0]
		}
		if out[i].Outcome != caspio.Inserted {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if failed > 0 {
		return out, fmt.Errorf("caspio client: insert records: %d of %d rows not inserted; the first: %w", failed, len(rows), first)
	}
	return out, nil
}
