package sandbox_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio/sandbox"
)

// These tests replay, request by request, what clients written against real Caspio
// accounts send, with the query strings in the exact shape those clients build them, and
// read the answers the way those clients read them. The package documentation names the
// clients and what each request rests on.

// TestPublishedSDKConversation follows a published Caspio SDK for REST v2: every read sends
// q.select=* and empty q.where, q.groupBy and q.orderBy; writes send "response=" with an
// empty value unless rows are wanted; every PUT answer is read as having a Result array.
func TestPublishedSDKConversation(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	records := base + "/rest/v2/tables/Customers/records"
	where := func(w string) string { return url.QueryEscape(w) }

	steps := []struct {
		name, method, query, body string
		status                    int
		check                     func(t *testing.T, r reply)
	}{
		{name: "read, not paged", method: http.MethodGet,
			query:  "?q.select=*&q.where=&q.groupBy=&q.orderBy=&q.limit=1000",
			status: http.StatusOK,
			check: func(t *testing.T, r reply) {
				recs := resultOf(t, r)
				require.Len(t, recs, 250)
				assert.Len(t, recs[0], 6, "q.select=* is every field")
			}},
		{name: "read, paged (q.limit sent along)", method: http.MethodGet,
			query:  "?q.select=*&q.where=&q.groupBy=&q.orderBy=&q.limit=100&q.pageNumber=2&q.pageSize=50",
			status: http.StatusOK,
			check: func(t *testing.T, r reply) {
				recs := resultOf(t, r)
				require.Len(t, recs, 50, "paging wins over q.limit")
				assert.Equal(t, 51.0, recs[0]["PK_ID"])
			}},
		{name: "read with a where clause", method: http.MethodGet,
			query:  "?q.select=*&q.where=" + where("Country='Japan'") + "&q.groupBy=&q.orderBy=&q.limit=1000",
			status: http.StatusOK,
			check: func(t *testing.T, r reply) {
				for _, rec := range resultOf(t, r) {
					assert.Equal(t, "Japan", rec["Country"])
				}
			}},
		{name: "create without the row", method: http.MethodPost, query: "?response=",
			body: `{"Name":"Ada Lovelace","Country":"UK"}`, status: http.StatusCreated,
			check: func(t *testing.T, r reply) { assert.Empty(t, r.body) }},
		{name: "create with the row", method: http.MethodPost, query: "?response=rows",
			body: `{"Name":"Charles Babbage","Country":"UK"}`, status: http.StatusCreated,
			check: func(t *testing.T, r reply) {
				created := rowsOf(t, r)
				require.Len(t, created, 1)
				assert.Equal(t, 252.0, created[0]["PK_ID"])
			}},
		{name: "update without rows", method: http.MethodPut,
			query: "?q.where=" + where("Name LIKE 'Ada Love%'") + "&response=",
			body:  `{"City":"London"}`, status: http.StatusOK,
			check: func(t *testing.T, r reply) {
				m := r.json(t)
				assert.Equal(t, 1.0, m["RecordsAffected"])
				assert.Equal(t, []any{}, m["Result"], "Result is an (empty) array")
			}},
		{name: "update with rows", method: http.MethodPut,
			query: "?q.where=" + where("Country='UK' AND PK_ID>250") + "&response=rows",
			body:  `{"City":"Cambridge"}`, status: http.StatusOK,
			check: func(t *testing.T, r reply) {
				m := r.json(t)
				assert.Equal(t, 2.0, m["RecordsAffected"])
				rows := resultOf(t, r)
				require.Len(t, rows, 2)
				assert.Equal(t, "Cambridge", rows[1]["City"])
			}},
		{name: "update matching nothing", method: http.MethodPut,
			query: "?q.where=" + where("PK_ID=99999") + "&response=",
			body:  `{"City":"Nowhere"}`, status: http.StatusOK,
			check: func(t *testing.T, r reply) {
				assert.Equal(t, map[string]any{"RecordsAffected": 0.0, "Result": []any{}}, r.json(t))
			}},
		{name: "delete", method: http.MethodDelete, query: "?q.where=" + where("PK_ID>250"), status: http.StatusOK,
			check: func(t *testing.T, r reply) {
				assert.Equal(t, map[string]any{"RecordsAffected": 2.0}, r.json(t))
			}},
	}
	// The steps run in order: each one relies on the data the ones before left.
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			r := call(t, step.method, records+step.query, access, step.body)
			require.Equal(t, step.status, r.status, "body: %s", r.body)
			step.check(t, r)
		})
	}
}

// TestCaspioN8nNodeConversation follows Caspio's own n8n node for REST v3: "Return All"
// pages with q.pageNumber and q.pageSize=1000 until PageNumber*PageSize reaches
// Pagination.TotalCount; create and update send response=rows; update and delete name
// the records with a bare "where" parameter.
func TestCaspioN8nNodeConversation(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	records := base + "/integrations/rest/v3/tables/Orders/records"

	t.Run("return all", func(t *testing.T) {
		var all []map[string]any
		total := -1
		for page := 1; page <= 10; page++ {
			r := call(t, http.MethodGet, records+"?q.orderBy=PK_ID&q.pageNumber="+strconv.Itoa(page)+"&q.pageSize=1000", access, "")
			all = append(all, resultOf(t, r)...)
			p, ok := r.json(t)["Pagination"].(map[string]any)
			require.True(t, ok, "a v3 records read has Pagination")
			assert.Equal(t, float64(page), p["PageNumber"])
			assert.Equal(t, 1000.0, p["PageSize"])
			if page == 1 {
				total = int(p["TotalCount"].(float64))
			}
			if page*1000 >= total {
				break
			}
		}
		assert.Equal(t, 2500, total)
		require.Len(t, all, 2500)
		assert.Equal(t, 2500.0, all[2499]["PK_ID"])
	})

	t.Run("create", func(t *testing.T) {
		r := call(t, http.MethodPost, records+"?response=rows", access, `{"CustomerID":3,"Product":"n8n","Quantity":2}`)
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		created := rowsOf(t, r)
		require.Len(t, created, 1)
		assert.Equal(t, 2501.0, created[0]["PK_ID"])
	})

	t.Run("update", func(t *testing.T) {
		q := url.Values{"response": {"rows"}, "where": {"Product = 'n8n'"}}
		r := call(t, http.MethodPut, records+"?"+q.Encode(), access, `{"Status":"Shipped"}`)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.Equal(t, 1.0, r.json(t)["RecordsAffected"])
		updated := resultOf(t, r)
		require.Len(t, updated, 1)
		assert.Equal(t, "Shipped", updated[0]["Status"])
	})

	t.Run("delete", func(t *testing.T) {
		q := url.Values{"where": {"Product = 'n8n'"}}
		r := call(t, http.MethodDelete, records+"?"+q.Encode(), access, "")
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.Equal(t, map[string]any{"RecordsAffected": 1.0}, r.json(t))
		gone := records + "?" + url.Values{"q.where": {"Product = 'n8n'"}}.Encode()
		assert.Empty(t, resultOf(t, call(t, http.MethodGet, gone, access, "")))
	})

	t.Run("table and field lists", func(t *testing.T) {
		r := call(t, http.MethodGet, base+"/integrations/rest/v3/tables", access, "")
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, []any{"Customers", "Orders", "Products"}, r.json(t)["Result"])
		fields := call(t, http.MethodGet, base+"/integrations/rest/v3/tables/Orders/fields", access, "").json(t)["Result"].([]any)
		for _, f := range fields {
			assert.Equal(t, false, f.(map[string]any)["IsFormula"], "the node skips formula fields by IsFormula")
		}
	})
}

// rowsOf reads Result as the array of records a write answered, whatever the status.
func rowsOf(t *testing.T, r reply) []map[string]any {
	t.Helper()
	result, ok := r.json(t)["Result"].([]any)
	require.True(t, ok, "Result is an array: %s", r.body)
	out := make([]map[string]any, 0, len(result))
	for _, rec := range result {
		out = append(out, rec.(map[string]any))
	}
	return out
}
