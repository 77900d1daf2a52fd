package caspio_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
)

// TestVectorsRecords plays tests/vectors/records.json against the core's records rules;
// tests/vectors/runner.js plays the same cases through the JS client's records API.
func TestVectorsRecords(t *testing.T) {
	type page struct {
		Ref    string
		Answer struct {
			Count   int
			LastKey string `json:"last_key"`
			Total   int
		}
		Keep int
		Done bool
	}
	for _, c := range loadVectors[struct {
		Name, Kind, Source, Table string
		Query                     struct {
			Select                  []string
			Where, OrderBy, GroupBy string
			Limit, PageSize         int
			StartPage               int `json:"startPage"`
		}
		Keyed      *bool
		Pages      []page
		Op, Where  string
		ReturnRows bool `json:"return_rows"`
		Ref        string
		Status     int
		Outcome    string
		Error      *vectorError
		APIError   struct {
			Status int
			Body   map[string]any
		} `json:"error_api"`
		Missing struct{ Table, Field string }
	}](t, "records.json") {
		t.Run(c.Name, func(t *testing.T) {
			switch c.Kind {
			case "read":
				p, err := caspio.NewPaging(c.Source, c.Table, caspio.Query{
					Select: c.Query.Select, Where: c.Query.Where, OrderBy: c.Query.OrderBy, GroupBy: c.Query.GroupBy,
					Limit: c.Query.Limit, PageSize: c.Query.PageSize, StartPage: c.Query.StartPage,
				})
				if c.Error != nil && len(c.Pages) == 0 {
					assertVectorError(t, *c.Error, err)
					return
				}
				require.NoError(t, err)
				if c.Keyed != nil {
					assert.Equal(t, *c.Keyed, p.Keyed())
				}
				cur := p.Start()
				for i, pg := range c.Pages {
					require.False(t, cur.Done, "page %d: the read ended early", i+1)
					assert.Equal(t, pg.Ref, p.Ref(cur), "page %d", i+1)
					next, keep, err := p.Next(cur, caspio.Page{Count: pg.Answer.Count, LastKey: pg.Answer.LastKey, Total: pg.Answer.Total})
					if c.Error != nil && i == len(c.Pages)-1 {
						assertVectorError(t, *c.Error, err)
						return
					}
					require.NoError(t, err, "page %d", i+1)
					assert.Equal(t, pg.Keep, keep, "page %d: records kept", i+1)
					assert.Equal(t, pg.Done, next.Done, "page %d: done", i+1)
					cur = next
				}
				assert.True(t, cur.Done, "the read goes on after the last page of the case")
			case "write":
				ref, err := caspio.RecordsRef(c.Op, c.Table, c.Where, c.ReturnRows)
				if c.Error != nil {
					assertVectorError(t, *c.Error, err)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, c.Ref, ref)
			case "insert":
				assert.Equal(t, c.Outcome, caspio.InsertOutcome(c.Status))
			case "missing":
				e := caspio.NewAPIError(c.APIError.Status, "", c.APIError.Body)
				table, field := caspio.Missing(e, c.Table)
				assert.Equal(t, c.Missing.Table, table)
				assert.Equal(t, c.Missing.Field, field)
			default:
				t.Fatalf("unknown kind %q", c.Kind)
			}
		})
	}
}

// TestPagingReadsATableOnce plays reads of a table of n records (PK_ID 1 to n) against a
// model of Caspio's answers, for page sizes, limits and both versions: every read hands out
// min(n, limit) records, each once, and stops without a needless request.
func TestPagingReadsATableOnce(t *testing.T) {
	for _, n := range []int{0, 1, 4, 5, 6, 999, 1000, 1001, 2500} {
		for _, size := range []int{5, 7, 1000} {
			for _, limit := range []int{0, 1, 5, 12, 1000, 3000} {
				for _, v3 := range []bool{false, true} {
					for _, order := range []string{"", "Total"} {
						p, err := caspio.NewPaging(caspio.SourceTable, "Orders", caspio.Query{PageSize: size, Limit: limit, OrderBy: order})
						require.NoError(t, err)
						want := n
						if limit > 0 {
							want = min(n, limit)
						}
						got, requests := 0, 0
						cur := p.Start()
						for !cur.Done {
							requests++
							require.LessOrEqual(t, requests, n/size+3, "n=%d size=%d limit=%d v3=%v order=%q: no end", n, size, limit, v3, order)
							// The model: key paging asks for the records above After, page
							// paging for page cur.Page; either way at most the page size.
							start := got // the records before this page
							asked := size
							if p.Keyed() && limit > 0 {
								asked = max(caspio.MinPageSize, min(size, limit-got))
							} else if !p.Keyed() && limit > 0 && limit <= size {
								asked = limit
							}
							count := max(0, min(asked, n-start))
							pg := caspio.Page{Count: count, Total: -1}
							if count > 0 {
								pg.LastKey = strconv.Itoa(start + count)
							}
							if v3 {
								pg.Total = n - start // the records above the last key
								if !p.Keyed() {
									pg.Total = n
								}
							}
							next, keep, err := p.Next(cur, pg)
							require.NoError(t, err)
							got += keep
							cur = next
						}
						assert.Equal(t, want, got, "n=%d size=%d limit=%d v3=%v order=%q", n, size, limit, v3, order)
					}
				}
			}
		}
	}
}
