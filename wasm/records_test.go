//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPageExport pages a key read through the page export as records.js does: the cursor
// goes back and forth as plain numbers and text, and nothing stays behind in Go.
func TestPageExport(t *testing.T) {
	core := newTestBridge(t)
	h := open(t, core, nil)
	// The query: select (a list: each field after a newline), where, orderBy, groupBy,
	// limit, pageSize, startPage; then the cursor and the facts of the page answered.
	q := []any{"tables", "Orders", "\nPK_ID\nTotal", "Status = 'Shipped'", "", "", 0, 5, 0}
	call := func(rest ...any) js.Value { return core.Call("page", append(append([]any{h}, q...), rest...)...) }
	step := call(0, 0, 0, 0, -1, -1)
	require.Equal(t, js.TypeString, step.Type(), "%v", step)
	base := "http://127.0.0.1:9/rest/v2/tables/Orders/records"
	out := strings.Split(step.String(), "\n")
	assert.Equal(t, []string{base + "?q.select=PK_ID,Total&q.where=Status%20%3D%20'Shipped'&q.orderBy=PK_ID&q.pageNumber=1&q.pageSize=5", "1", "", "0", "0", "5"}, out)

	out = strings.Split(call(1, 0, 0, 5, 12, 9).String(), "\n")
	assert.Equal(t, []string{base + "?q.select=PK_ID,Total&q.where=(Status%20%3D%20'Shipped')%20AND%20PK_ID%20%3E%2012&q.orderBy=PK_ID&q.pageNumber=1&q.pageSize=5", "2", "12", "5", "5", "5"}, out)

	out = strings.Split(call(2, 12, 5, 4, 20, -1).String(), "\n")
	assert.Equal(t, []string{"", "3", "20", "9", "4", "5"}, out, "a short page ends the read")

	q = []any{"tables", "Orders", "Total,Status", "", "", "", 0, 0, 0}
	assert.Contains(t, call(0, 0, 0, 0, -1, -1).String(), "q.select=Total,Status,PK_ID&", "q.select's text, PK_ID added for key paging")
	q = []any{"tables", "Orders", "\nTotal,Status", "", "", "", 0, 0, 0}
	require.True(t, isError(call(0, 0, 0, 0, -1, -1)), "a list item with a comma")

	q = []any{"tables", "Orders", "", "", "", "", 0, 3, 0}
	e := call(0, 0, 0, 0, -1, -1)
	require.True(t, isError(e))
	assert.Equal(t, "CONFIG_INVALID", e.Get("code").String())
	assert.Equal(t, "pageSize", e.Get("details").Get("field").String(), "the JS option's name")

	e = core.Call("recordsRef", h, "delete", "Orders", " ", false)
	require.True(t, isError(e), "a delete without a condition is refused")
	assert.Equal(t, base+"?q.where=PK_ID%20%3D%207&response=rows", core.Call("recordsRef", h, "update", "Orders", "PK_ID = 7", true).String())

	e = core.Call("recordsError", 400, "hdr", parseJSON(`{"Code":"IncorrectQueryParameter","Message":"q.select: unknown field 'Colour' in table Orders.","RequestId":"r-1"}`), "Orders")
	require.True(t, isError(e))
	assert.Equal(t, "Orders", e.Get("table").String())
	assert.Equal(t, "Colour", e.Get("field").String())
	assert.Equal(t, "unknown", core.Call("insertOutcome", 502).String())
}
