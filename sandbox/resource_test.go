package sandbox_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio/sandbox"
)

var prefixes = map[int]string{2: "/rest/v2", 3: "/integrations/rest/v3"}

func TestBearerChecks(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	expired, _ := tokens(t, base)
	cases := []struct {
		name   string
		auth   string // the whole Authorization header; "" sends none
		before func()
		status int
	}{
		{name: "valid", auth: "Bearer " + access, status: 200},
		{name: "scheme is case-insensitive", auth: "bearer " + access, status: 200},
		{name: "missing", auth: "", status: 401},
		{name: "Basic scheme", auth: basic(clientID, clientSecret), status: 401},
		{name: "no token", auth: "Bearer", status: 401},
		{name: "empty token", auth: "Bearer ", status: 401},
		{name: "two words", auth: "Bearer " + access + " x", status: 401},
		{name: "bad characters", auth: "Bearer " + access + "!", status: 401},
		{name: "unknown", auth: "Bearer " + strings.Repeat("A", 43), status: 401},
		{name: "expired", auth: "Bearer " + expired, before: func() { sb.Advance(86399 * time.Second) }, status: 401},
	}
	unauthorized := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
				defer sb.Advance(-86399 * time.Second)
			}
			for version, prefix := range prefixes {
				req, err := http.NewRequest(http.MethodGet, base+prefix+"/tables", nil)
				require.NoError(t, err)
				if tc.auth != "" {
					req.Header.Set("Authorization", tc.auth)
				}
				r := do(t, req)
				require.Equal(t, tc.status, r.status, "v%d body: %s", version, r.body)
				id := r.header.Get("X-Caspio-Request-ID")
				assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
				if tc.status != 401 {
					continue
				}
				unauthorized++
				assert.Equal(t, `Bearer error="invalid_token"`, r.header.Get("WWW-Authenticate"))
				assert.Equal(t, map[string]any{
					"Code":      "Unauthorized",
					"Message":   "Authorization has been denied for this request.",
					"Resource":  prefix + "/tables",
					"RequestId": id,
				}, r.json(t))
			}
		})
	}
	assert.Equal(t, unauthorized, sb.Stats().Unauthorized)
	assert.Equal(t, 2*len(cases), sb.Stats().ResourceRequests)
}

func TestTablesAndFields(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	tables := []any{"Customers", "Orders", "Products"}

	for version, prefix := range prefixes {
		r := call(t, http.MethodGet, base+prefix+"/tables", access, "")
		require.Equal(t, http.StatusOK, r.status, "v%d", version)
		assert.Equal(t, map[string]any{"Result": tables}, r.json(t), "v%d: a list of names, no Pagination", version)

		r = call(t, http.MethodGet, base+prefix+"/tables/orders/fields", access, "")
		require.Equal(t, http.StatusOK, r.status, "v%d", version)
		m := r.json(t)
		assert.NotContains(t, m, "Pagination", "v%d", version)
		fields := m["Result"].([]any)
		require.Len(t, fields, 7)
		assert.Equal(t, map[string]any{
			"Name": "PK_ID", "Type": "AUTONUMBER", "Unique": true, "UniqueAllowNulls": false,
			"Label": "", "Description": "", "DisplayOrder": 1.0, "IsFormula": false,
		}, fields[0])
		assert.Equal(t, map[string]any{
			"Name": "CustomerID", "Type": "INTEGER", "Unique": false, "UniqueAllowNulls": false,
			"Label": "", "Description": "", "DisplayOrder": 2.0, "IsFormula": false,
		}, fields[1])
	}
}

// records GETs records and returns the decoded body.
func records(t *testing.T, base, access string, version int, table string, q url.Values) reply {
	t.Helper()
	return call(t, http.MethodGet, base+prefixes[version]+"/tables/"+table+"/records?"+q.Encode(), access, "")
}

func resultOf(t *testing.T, r reply) []map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var out []map[string]any
	for _, rec := range r.json(t)["Result"].([]any) {
		out = append(out, rec.(map[string]any))
	}
	return out
}

func TestRecordsQuery(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	type check func(t *testing.T, recs []map[string]any)
	all := func(pred func(map[string]any) bool) check {
		return func(t *testing.T, recs []map[string]any) {
			require.NotEmpty(t, recs)
			for _, rec := range recs {
				require.True(t, pred(rec), "record %v", rec)
			}
		}
	}
	count := func(n int) check {
		return func(t *testing.T, recs []map[string]any) { assert.Len(t, recs, n) }
	}
	ids := func(first, last int) check {
		return func(t *testing.T, recs []map[string]any) {
			require.Len(t, recs, last-first+1)
			for i, rec := range recs {
				assert.Equal(t, float64(first+i), rec["PK_ID"])
			}
		}
	}
	sortedBy := func(field string, desc bool) check {
		return func(t *testing.T, recs []map[string]any) {
			assert.True(t, sort.SliceIsSorted(recs, func(i, j int) bool {
				a, b := recs[i][field].(float64), recs[j][field].(float64)
				if desc {
					return a > b
				}
				return a < b
			}), "sorted by %s desc=%v", field, desc)
		}
	}
	str := func(rec map[string]any, f string) string { s, _ := rec[f].(string); return s }
	num := func(rec map[string]any, f string) float64 { n, _ := rec[f].(float64); return n }

	cases := []struct {
		name  string
		table string
		q     url.Values
		check check
		err   string // a word the 400 message must contain; "" means success
	}{
		{name: "default limit is 100", table: "Orders", check: count(100)},
		{name: "q.limit", table: "Orders", q: url.Values{"q.limit": {"7"}}, check: ids(1, 7)},
		{name: "q.limit 1000", table: "Orders", q: url.Values{"q.limit": {"1000"}}, check: count(1000)},
		{name: "q.limit above 1000", table: "Orders", q: url.Values{"q.limit": {"1001"}}, err: "q.limit"},
		{name: "q.limit 0", table: "Orders", q: url.Values{"q.limit": {"0"}}, err: "q.limit"},
		{name: "q.select", table: "Orders", q: url.Values{"q.select": {"PK_ID, status"}, "q.limit": {"3"}},
			check: all(func(r map[string]any) bool { return len(r) == 2 && r["Status"] != nil && r["PK_ID"] != nil })},
		{name: "q.select unknown field", table: "Orders", q: url.Values{"q.select": {"PK_ID,Colour"}}, err: "Colour"},
		{name: "q.select * is every field", table: "Products", q: url.Values{"q.select": {"*"}, "q.limit": {"3"}},
			check: func(t *testing.T, recs []map[string]any) {
				require.Len(t, recs, 3)
				assert.Equal(t, map[string]any{"PK_ID": 1.0, "Name": "Classic Mug", "Category": "Kitchen", "Price": 5.99, "Stock": 0.0}, recs[0])
			}},
		{name: "q.select * with a field", table: "Products", q: url.Values{"q.select": {" Name, * "}, "q.limit": {"1"}},
			check: all(func(r map[string]any) bool { return len(r) == 5 })},
		{name: "q.select empty is every field", table: "Products", q: url.Values{"q.select": {""}, "q.limit": {"2"}},
			check: all(func(r map[string]any) bool { return len(r) == 5 && r["Stock"] != nil })},
		{name: "q.select blank is every field", table: "Products", q: url.Values{"q.select": {"  "}, "q.limit": {"2"}},
			check: all(func(r map[string]any) bool { return len(r) == 5 })},
		{name: "q.select * twice", table: "Products", q: url.Values{"q.select": {"*,*"}, "q.limit": {"2"}},
			check: all(func(r map[string]any) bool { return len(r) == 5 })},
		{name: "q.select empty item", table: "Products", q: url.Values{"q.select": {"Name,,Price"}}, err: "empty field name"},
		{name: "q.select table.* is not supported", table: "Products", q: url.Values{"q.select": {"Products.*"}}, err: "Products.*"},
		{name: "q.where empty is no filter", table: "Orders", q: url.Values{"q.where": {""}, "q.limit": {"1000"}}, check: count(1000)},
		{name: "q.where blank is no filter", table: "Orders", q: url.Values{"q.where": {" \t"}}, check: ids(1, 100)},
		{name: "q.orderBy empty keeps table order", table: "Orders", q: url.Values{"q.orderBy": {""}, "q.limit": {"5"}}, check: ids(1, 5)},
		{name: "q.groupBy empty is no grouping", table: "Orders", q: url.Values{"q.groupBy": {""}, "q.limit": {"5"}}, check: ids(1, 5)},
		{name: "q.groupBy with q.select *", table: "Orders", q: url.Values{"q.select": {"*"}, "q.groupBy": {"Status"}}, err: "q.groupBy"},
		{name: "all four empty, as a published SDK sends them", table: "Orders",
			q:     url.Values{"q.select": {"*"}, "q.where": {""}, "q.groupBy": {""}, "q.orderBy": {""}, "q.limit": {"1000"}},
			check: func(t *testing.T, recs []map[string]any) { ids(1, 1000)(t, recs); assert.Len(t, recs[0], 7) }},
		{name: "table name case-insensitive", table: "oRdErS", q: url.Values{"q.limit": {"5"}}, check: ids(1, 5)},
		{name: "where equals", table: "Orders", q: url.Values{"q.where": {"Status='Shipped'"}},
			check: all(func(r map[string]any) bool { return r["Status"] == "Shipped" })},
		{name: "where is case-insensitive on text", table: "Orders", q: url.Values{"q.where": {"status = 'SHIPPED'"}},
			check: all(func(r map[string]any) bool { return r["Status"] == "Shipped" })},
		{name: "where not equal", table: "Orders", q: url.Values{"q.where": {"Status<>'Shipped'"}},
			check: all(func(r map[string]any) bool { return r["Status"] != "Shipped" })},
		{name: "where numbers", table: "Orders", q: url.Values{"q.where": {"Total < 20.5 AND Quantity >= 2"}},
			check: all(func(r map[string]any) bool { return num(r, "Total") < 20.5 && num(r, "Quantity") >= 2 })},
		{name: "where OR and parentheses", table: "Orders", q: url.Values{"q.where": {"(Status='Pending' OR Status='Cancelled') AND Quantity>8"}, "q.limit": {"1000"}},
			check: all(func(r map[string]any) bool {
				return (r["Status"] == "Pending" || r["Status"] == "Cancelled") && num(r, "Quantity") > 8
			})},
		{name: "where LIKE", table: "Customers", q: url.Values{"q.where": {"Name LIKE 'ada%'"}},
			check: func(t *testing.T, recs []map[string]any) {
				all(func(r map[string]any) bool { return strings.HasPrefix(str(r, "Name"), "Ada ") })(t, recs)
				assert.Len(t, recs, 10)
			}},
		{name: "where NOT LIKE with _", table: "Products", q: url.Values{"q.where": {"Name NOT LIKE '%M_g'"}},
			check: all(func(r map[string]any) bool { return !strings.HasSuffix(str(r, "Name"), "Mug") })},
		{name: "where date", table: "Orders", q: url.Values{"q.where": {"OrderDate >= '2024-12-01'"}},
			check: all(func(r map[string]any) bool { return str(r, "OrderDate") >= "2024-12-01" })},
		{name: "where matches nothing", table: "Orders", q: url.Values{"q.where": {"Quantity > 100"}}, check: count(0)},
		{name: "where unknown field", table: "Orders", q: url.Values{"q.where": {"Colour='red'"}}, err: "Colour"},
		{name: "where missing value", table: "Orders", q: url.Values{"q.where": {"Status="}}, err: "q.where"},
		{name: "where unterminated string", table: "Orders", q: url.Values{"q.where": {"Status='Shipped"}}, err: "unterminated"},
		{name: "where unbalanced parenthesis", table: "Orders", q: url.Values{"q.where": {"(Status='Shipped'"}}, err: "q.where"},
		{name: "where trailing garbage", table: "Orders", q: url.Values{"q.where": {"Status='Shipped' Quantity=1"}}, err: "q.where"},
		{name: "where text for a number", table: "Orders", q: url.Values{"q.where": {"Quantity='many'"}}, err: "Quantity"},
		{name: "where too deep", table: "Orders", q: url.Values{"q.where": {strings.Repeat("(", 40) + "Quantity=1" + strings.Repeat(")", 40)}}, err: "nested"},
		{name: "orderBy DESC", table: "Orders", q: url.Values{"q.orderBy": {"Total DESC"}, "q.limit": {"1000"}}, check: sortedBy("Total", true)},
		{name: "orderBy two keys", table: "Orders", q: url.Values{"q.orderBy": {"Quantity asc, PK_ID DESC"}, "q.limit": {"1000"}},
			check: func(t *testing.T, recs []map[string]any) {
				sortedBy("Quantity", false)(t, recs)
				assert.Equal(t, float64(1), recs[0]["Quantity"])
				assert.Greater(t, num(recs[0], "PK_ID"), num(recs[1], "PK_ID"))
			}},
		{name: "orderBy unknown field", table: "Orders", q: url.Values{"q.orderBy": {"Colour"}}, err: "Colour"},
		{name: "orderBy bad direction", table: "Orders", q: url.Values{"q.orderBy": {"Total DOWN"}}, err: "DOWN"},
		{name: "groupBy gives distinct values", table: "Orders", q: url.Values{"q.select": {"Status"}, "q.groupBy": {"Status"}}, check: count(4)},
		{name: "pageNumber alone uses pageSize 25", table: "Orders", q: url.Values{"q.pageNumber": {"2"}}, check: ids(26, 50)},
		{name: "pageSize alone is page 1", table: "Orders", q: url.Values{"q.pageSize": {"10"}}, check: ids(1, 10)},
		{name: "last page", table: "Orders", q: url.Values{"q.pageNumber": {"250"}, "q.pageSize": {"10"}}, check: ids(2491, 2500)},
		{name: "past the last page", table: "Orders", q: url.Values{"q.pageNumber": {"251"}, "q.pageSize": {"10"}}, check: count(0)},
		{name: "huge pageNumber", table: "Orders", q: url.Values{"q.pageNumber": {"9223372036854775807"}, "q.pageSize": {"1000"}}, check: count(0)},
		{name: "pageSize 1000", table: "Orders", q: url.Values{"q.pageNumber": {"3"}, "q.pageSize": {"1000"}}, check: ids(2001, 2500)},
		{name: "pageSize below 5", table: "Orders", q: url.Values{"q.pageSize": {"4"}}, err: "q.pageSize"},
		{name: "pageSize above 1000", table: "Orders", q: url.Values{"q.pageSize": {"1001"}}, err: "q.pageSize"},
		{name: "pageNumber 0", table: "Orders", q: url.Values{"q.pageNumber": {"0"}}, err: "q.pageNumber"},
		{name: "pageNumber not a number", table: "Orders", q: url.Values{"q.pageNumber": {"two"}}, err: "q.pageNumber"},
		{name: "unknown q parameter", table: "Orders", q: url.Values{"q.top": {"5"}}, err: "q.top"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, version := range []int{2, 3} {
				r := records(t, base, access, version, tc.table, tc.q)
				if tc.err != "" {
					require.Equal(t, http.StatusBadRequest, r.status, "v%d body: %s", version, r.body)
					m := r.json(t)
					assert.Equal(t, "IncorrectQueryParameter", m["Code"])
					assert.Contains(t, m["Message"], tc.err)
					continue
				}
				tc.check(t, resultOf(t, r))
			}
		})
	}
}

func TestRecordsPaginationV3(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	cases := []struct {
		name string
		q    url.Values
		want map[string]any
	}{
		{"paged", url.Values{"q.pageNumber": {"2"}, "q.pageSize": {"100"}},
			map[string]any{"PageNumber": 2.0, "PageSize": 100.0, "TotalCount": 2500.0}},
		{"filtered", url.Values{"q.where": {"CustomerID=1"}, "q.pageSize": {"5"}},
			map[string]any{"PageNumber": 1.0, "PageSize": 5.0, "TotalCount": 10.0}},
		{"not paged uses the limit", url.Values{"q.limit": {"1000"}},
			map[string]any{"PageNumber": 1.0, "PageSize": 1000.0, "TotalCount": 2500.0}},
		{"paging wins over q.limit", url.Values{"q.limit": {"100"}, "q.pageNumber": {"3"}, "q.pageSize": {"50"}},
			map[string]any{"PageNumber": 3.0, "PageSize": 50.0, "TotalCount": 2500.0}},
		{"past the last page", url.Values{"q.pageNumber": {"9"}, "q.pageSize": {"1000"}},
			map[string]any{"PageNumber": 9.0, "PageSize": 1000.0, "TotalCount": 2500.0}},
		{"nothing matches", url.Values{"q.where": {"PK_ID<0"}},
			map[string]any{"PageNumber": 1.0, "PageSize": 100.0, "TotalCount": 0.0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := records(t, base, access, 3, "Orders", tc.q).json(t)
			assert.Equal(t, tc.want, m["Pagination"])
			v2 := records(t, base, access, 2, "Orders", tc.q).json(t)
			assert.NotContains(t, v2, "Pagination", "v2 has no Pagination")
			assert.Equal(t, m["Result"], v2["Result"])
		})
	}
}

func TestRecordsWrite(t *testing.T) {
	for version, prefix := range prefixes {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			_, base := start(t, sandbox.Options{})
			access, _ := tokens(t, base)
			u := base + prefix + "/tables/Customers/records"
			count := func(where string) int {
				return len(resultOf(t, records(t, base, access, version, "Customers", url.Values{"q.where": {where}, "q.limit": {"1000"}})))
			}

			r := call(t, http.MethodPost, u, access, `{"Name":"Ann O'Brien","Email":"ann@example.com","City":"Cork","Country":"Ireland","CreatedAt":"2025-03-01T10:00:00"}`)
			require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
			assert.Empty(t, r.body, "a POST without response=rows answers no body")
			assert.Empty(t, r.header.Get("Content-Type"))

			r = call(t, http.MethodPost, u+"?response=rows", access, `{"name":"Bo","City":null}`)
			require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
			assert.Equal(t, map[string]any{"RecordsAffected": 1.0, "Result": []any{map[string]any{
				"PK_ID": 252.0, "Name": "Bo", "Email": nil, "City": nil, "Country": nil, "CreatedAt": nil,
			}}}, r.json(t))

			assert.Equal(t, 1, count("Name='Ann O''Brien'"), "'' escapes a quote")
			assert.Equal(t, 1, count("CreatedAt='2025-03-01T10:00:00'"))
			assert.Equal(t, 1, count("City IS NULL"))

			before := count("Country='USA'")
			r = call(t, http.MethodPut, u+"?q.where="+url.QueryEscape("Country='USA'"), access, `{"Country":"United States"}`)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			assert.Equal(t, map[string]any{"RecordsAffected": float64(before), "Result": []any{}}, r.json(t),
				"a PUT answers Result, empty unless rows were asked for")
			assert.Zero(t, count("Country='USA'"))
			assert.Equal(t, before, count("Country='United States'"))

			r = call(t, http.MethodDelete, u+"?q.where="+url.QueryEscape("Country='United States' OR PK_ID=252"), access, "")
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			assert.Equal(t, map[string]any{"RecordsAffected": float64(before + 1)}, r.json(t))
			assert.Zero(t, count("Country='United States' OR PK_ID=252"))
		})
	}
}

func TestRecordsWriteErrors(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	u := base + "/rest/v2/tables/Orders/records"
	u3 := base + "/integrations/rest/v3/tables/Orders/records"
	where := "?q.where=" + url.QueryEscape("PK_ID=1")
	bare := "?where=" + url.QueryEscape("PK_ID=1")
	cases := []struct {
		name, method, url, body string
		code, word              string
	}{
		{"POST sets the autonumber", http.MethodPost, u, `{"PK_ID":5,"Status":"New"}`, "IncorrectBodyParameter", "PK_ID"},
		{"POST unknown field", http.MethodPost, u, `{"Colour":"red"}`, "IncorrectBodyParameter", "Colour"},
		{"POST text for an integer", http.MethodPost, u, `{"Quantity":"five"}`, "IncorrectBodyParameter", "Quantity"},
		{"POST fraction for an integer", http.MethodPost, u, `{"Quantity":1.5}`, "IncorrectBodyParameter", "Quantity"},
		{"POST number for text", http.MethodPost, u, `{"Status":5}`, "IncorrectBodyParameter", "Status"},
		{"POST bad date", http.MethodPost, u, `{"OrderDate":"yesterday"}`, "IncorrectBodyParameter", "OrderDate"},
		{"POST text too long", http.MethodPost, u, `{"Status":"` + strings.Repeat("x", 256) + `"}`, "IncorrectBodyParameter", "255"},
		{"POST not JSON", http.MethodPost, u, `Status=New`, "IncorrectBodyParameter", "JSON"},
		{"POST an array", http.MethodPost, u, `[{"Status":"New"}]`, "IncorrectBodyParameter", "JSON object"},
		{"POST two objects", http.MethodPost, u, `{"Status":"New"}{}`, "IncorrectBodyParameter", "after"},
		{"POST with q.where", http.MethodPost, u + where, `{"Status":"New"}`, "IncorrectQueryParameter", "q.where"},
		{"PUT without q.where", http.MethodPut, u, `{"Status":"New"}`, "IncorrectQueryParameter", "q.where"},
		{"PUT with bad q.where", http.MethodPut, u + "?q.where=PK_ID%3D", `{"Status":"New"}`, "IncorrectQueryParameter", "q.where"},
		{"PUT sets nothing", http.MethodPut, u + where, `{}`, "IncorrectBodyParameter", "no field"},
		{"PUT the autonumber", http.MethodPut, u + where, `{"PK_ID":9}`, "IncorrectBodyParameter", "PK_ID"},
		{"DELETE without q.where", http.MethodDelete, u, "", "IncorrectQueryParameter", "q.where"},
		{"DELETE with q.limit", http.MethodDelete, u + where + "&q.limit=5", "", "IncorrectQueryParameter", "q.limit"},
		{"POST response other than rows", http.MethodPost, u + "?response=all", `{"Status":"New"}`, "IncorrectQueryParameter", "response"},
		{"PUT response other than rows", http.MethodPut, u + where + "&response=none", `{"Status":"New"}`, "IncorrectQueryParameter", "response"},
		{"PUT with empty q.where", http.MethodPut, u + "?q.where=", `{"Status":"New"}`, "IncorrectQueryParameter", "must not be empty"},
		{"DELETE with empty q.where", http.MethodDelete, u + "?q.where=&response=", "", "IncorrectQueryParameter", "must not be empty"},
		{"DELETE with blank q.where", http.MethodDelete, u + "?q.where=%20%20", "", "IncorrectQueryParameter", "must not be empty"},
		{"v2 PUT with bare where", http.MethodPut, u + bare, `{"Status":"New"}`, "IncorrectQueryParameter", "q.where is required"},
		{"v2 DELETE with bare where", http.MethodDelete, u + bare, "", "IncorrectQueryParameter", "q.where is required"},
		{"v3 PUT with empty where", http.MethodPut, u3 + "?where=", `{"Status":"New"}`, "IncorrectQueryParameter", "q.where (or where)"},
		{"v3 DELETE with q.where and where", http.MethodDelete, u3 + where + "&" + bare[1:], "", "IncorrectQueryParameter", "not both"},
		{"v3 PUT with a bad where", http.MethodPut, u3 + "?where=PK_ID%3D", `{"Status":"New"}`, "IncorrectQueryParameter", "q.where"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, tc.url, access, tc.body)
			require.Equal(t, http.StatusBadRequest, r.status, "body: %s", r.body)
			m := r.json(t)
			assert.Equal(t, tc.code, m["Code"])
			assert.Contains(t, m["Message"], tc.word)
			assert.Equal(t, r.header.Get("X-Caspio-Request-ID"), m["RequestId"])
		})
	}
	// Nothing above changed the data.
	assert.Len(t, resultOf(t, records(t, base, access, 2, "Orders", url.Values{"q.pageSize": {"1000"}, "q.pageNumber": {"3"}})), 500)
	assert.Equal(t, "Pending", resultOf(t, records(t, base, access, 2, "Orders", url.Values{"q.where": {"PK_ID=1"}}))[0]["Status"])
}

func TestResourceRoutes(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	cases := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"prefix alone", http.MethodGet, "/rest/v2", 404, "ObjectNotFound"},
		{"unknown collection", http.MethodGet, "/rest/v2/files", 404, "ObjectNotFound"},
		{"unknown view", http.MethodGet, "/rest/v2/views/Nope/records", 404, "ObjectNotFound"},
		{"view write", http.MethodPut, "/rest/v2/views/ShippedOrders/records", 405, "MethodNotAllowed"},
		{"unknown table", http.MethodGet, "/integrations/rest/v3/tables/Nope/records", 404, "ObjectNotFound"},
		{"table alone", http.MethodGet, "/rest/v2/tables/Orders", 404, "ObjectNotFound"},
		{"unknown sub-resource", http.MethodGet, "/rest/v2/tables/Orders/rows", 404, "ObjectNotFound"},
		{"too deep", http.MethodGet, "/rest/v2/tables/Orders/records/1", 404, "ObjectNotFound"},
		{"outside the API", http.MethodGet, "/rest/v9/tables", 404, "ObjectNotFound"},
		{"DELETE tables", http.MethodDelete, "/rest/v2/tables", 405, "MethodNotAllowed"},
		{"POST fields", http.MethodPost, "/rest/v2/tables/Orders/fields", 405, "MethodNotAllowed"},
		{"PATCH records", http.MethodPatch, "/rest/v2/tables/Orders/records", 405, "MethodNotAllowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, base+tc.path, access, "")
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			m := r.json(t)
			assert.Equal(t, tc.code, m["Code"])
			assert.Equal(t, tc.path, m["Resource"])
			assert.NotEmpty(t, m["RequestId"])
		})
	}
}

func TestResourceCORS(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	req, err := http.NewRequest(http.MethodOptions, base+"/integrations/rest/v3/tables/Orders/records", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://admin.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	r := do(t, req)
	assert.Equal(t, http.StatusNoContent, r.status, "a preflight needs no token")
	assert.Equal(t, "https://admin.example", r.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, r.header.Get("Access-Control-Allow-Methods"), "PUT")

	r = call(t, http.MethodGet, base+"/rest/v2/tables", access, "")
	assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, r.header.Get("Access-Control-Expose-Headers"), "X-Caspio-Request-ID")
}
