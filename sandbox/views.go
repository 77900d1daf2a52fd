package sandbox

// Views: saved, read-only selections of the tables, answered in Caspio's shapes. GET views
// lists their names; GET views/{v}/records reads one with the same q.* parameters as a
// table (see the package documentation for the evidence).

import (
	"net/http"
	"strings"
)

// view is a selection of a table's fields and rows, or of two tables joined on a field.
type view struct {
	name   string
	base   string   // the table, lower-cased
	fields []string // the base's fields shown, in order
	match  func(t *table, r row) bool
	// A join: for each base row, the other table's row whose PK_ID equals the base's
	// joinOn field, with joined's fields after the base's. Joined fields are named
	// "<Table>_<Field>", as Caspio names the fields of a view over several tables.
	join, joinOn string
	joined       []string
}

// viewDescription is GET views/{v}: its name and note.
type viewDescription struct {
	Name string `json:"Name"`
	Note string `json:"Note"`
}

// viewNames is the order GET .../views lists them in.
var viewNames = []string{"ShippedOrders", "OrdersWithCustomers", "ProductsInStock"}

var views = map[string]view{
	"shippedorders": {name: "ShippedOrders", base: "orders",
		fields: []string{"CustomerID", "Product", "Quantity", "Total", "OrderDate"},
		match:  func(t *table, r row) bool { return r[t.fieldIndex("Status")] == "Shipped" }},
	"orderswithcustomers": {name: "OrdersWithCustomers", base: "orders",
		fields: []string{"PK_ID", "Product", "Total", "Status"},
		join:   "customers", joinOn: "CustomerID", joined: []string{"Name", "Country"}},
	"productsinstock": {name: "ProductsInStock", base: "products",
		fields: []string{"Name", "Category", "Price", "Stock"},
		match:  func(t *table, r row) bool { s, _ := r[t.fieldIndex("Stock")].(int64); return s > 0 }},
}

// materializeLocked builds the view's rows from the tables as they are now, as a table of
// its own that a read may use after s.mu is released. Joined fields of a view over two
// tables are named "<Table>_<Field>", the base's too.
func (s *Server) materializeLocked(v view) *table {
	base := s.tables[v.base]
	out := &table{name: v.name}
	prefix := ""
	var other *table
	if v.join != "" {
		other = s.tables[v.join]
		prefix = base.name + "_"
	}
	idx := make([]int, len(v.fields))
	for i, name := range v.fields {
		idx[i] = base.fieldIndex(name)
		f := base.fields[idx[i]]
		if f.Type == typeAutonumber && v.join != "" {
			f.Type = typeInteger // a key of the base, not of the view
		}
		out.fields = append(out.fields, field{prefix + f.Name, f.Type})
	}
	var oidx []int
	byKey := map[int64]row{}
	if other != nil {
		for _, name := range v.joined {
			i := other.fieldIndex(name)
			oidx = append(oidx, i)
			out.fields = append(out.fields, field{other.name + "_" + other.fields[i].Name, other.fields[i].Type})
		}
		for _, r := range other.rows {
			byKey[r[0].(int64)] = r
		}
	}
	on := -1
	if v.joinOn != "" {
		on = base.fieldIndex(v.joinOn)
	}
	for _, r := range base.rows {
		if v.match != nil && !v.match(base, r) {
			continue
		}
		vr := make(row, 0, len(out.fields))
		for _, i := range idx {
			vr = append(vr, r[i])
		}
		if other != nil {
			key, _ := r[on].(int64)
			o, ok := byKey[key]
			if !ok {
				continue // an inner join
			}
			for _, i := range oidx {
				vr = append(vr, o[i])
			}
		}
		out.rows = append(out.rows, vr)
	}
	return out
}

// routeViews answers GET views and GET views/{v}/records; parts[0] is "views".
func (s *Server) routeViews(r *http.Request, req resourceRequest, parts []string) (int, any, *apiError) {
	notFound := &apiError{http.StatusNotFound, "ObjectNotFound", "The requested resource was not found."}
	switch {
	case len(parts) == 1:
		if r.Method != http.MethodGet {
			return 0, "GET", &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed"}
		}
		return http.StatusOK, list{append([]string{}, viewNames...)}, nil
	case len(parts) == 2, len(parts) == 3 && strings.EqualFold(parts[2], "records"):
	default:
		return 0, nil, notFound
	}
	v, ok := views[strings.ToLower(parts[1])]
	if !ok {
		return 0, nil, &apiError{http.StatusNotFound, "ObjectNotFound", "View '" + truncate(parts[1], 100) + "' does not exist."}
	}
	if len(parts) == 2 { // the view's description
		if r.Method != http.MethodGet {
			return 0, "GET", &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed"}
		}
		return http.StatusOK, struct {
			Result viewDescription `json:"Result"`
		}{viewDescription{v.name, ""}}, nil
	}
	if r.Method != http.MethodGet {
		return 0, "GET", &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed"}
	}
	if e := checkParams(req.params, "q.select", "q.where", "q.orderby", "q.groupby", "q.limit", "q.pagenumber", "q.pagesize"); e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	t := s.materializeLocked(v)
	return s.selectLocked(req, t)
}
