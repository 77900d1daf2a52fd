package sandbox

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Field types, as Caspio's REST API names them.
const (
	typeAutonumber = "AUTONUMBER"
	typeString     = "STRING"
	typeInteger    = "INTEGER"
	typeNumber     = "NUMBER"
	typeDateTime   = "DATE/TIME"
)

// dateLayout is how Caspio writes a DATE/TIME value: no zone.
const dateLayout = "2006-01-02T15:04:05"

// maxStringLen is the length of a Caspio Text (255) field.
const maxStringLen = 255

type field struct {
	Name string
	Type string
}

func (f field) numeric() bool {
	return f.Type == typeAutonumber || f.Type == typeInteger || f.Type == typeNumber
}

// fieldJSON is one entry of GET .../fields, with the properties every Caspio field has.
// Label and Description are empty, as Caspio answers for a field that has none set.
type fieldJSON struct {
	Name             string `json:"Name"`
	Type             string `json:"Type"`
	Unique           bool   `json:"Unique"`
	UniqueAllowNulls bool   `json:"UniqueAllowNulls"`
	Label            string `json:"Label"`
	Description      string `json:"Description"`
	DisplayOrder     int    `json:"DisplayOrder"`
	IsFormula        bool   `json:"IsFormula"`
}

// A row holds one value per field, in field order: nil, string, int64 (AUTONUMBER,
// INTEGER), float64 (NUMBER) or time.Time (DATE/TIME).
type row []any

type table struct {
	name   string
	fields []field
	rows   []row
	nextID int64
}

// fieldIndex finds a field by name, case-insensitively as Caspio (SQL Server) does.
func (t *table) fieldIndex(name string) int {
	for i, f := range t.fields {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

// tableNames is the order GET .../tables lists them in.
var tableNames = []string{"Customers", "Orders", "Products"}

// seedTables builds the demo data. It is deterministic, so that tests can rely on it.
func seedTables() map[string]*table {
	products := seedProducts()
	tables := []*table{seedCustomers(), seedOrders(products), products}
	m := make(map[string]*table, len(tables))
	for _, t := range tables {
		t.nextID = int64(len(t.rows)) + 1
		m[strings.ToLower(t.name)] = t
	}
	return m
}

var (
	firstNames = []string{"Ada", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
		"Kemal", "Lena", "Mateo", "Nadia", "Oscar", "Priya", "Quinn", "Rosa", "Sami", "Tara",
		"Umar", "Vera", "Wei", "Ximena", "Yusuf"}
	lastNames = []string{"Abbott", "Berger", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen"}
	cities    = [][2]string{{"Seattle", "USA"}, {"Austin", "USA"}, {"Toronto", "Canada"}, {"London", "UK"},
		{"Berlin", "Germany"}, {"Paris", "France"}, {"Madrid", "Spain"}, {"Lisbon", "Portugal"},
		{"Tokyo", "Japan"}, {"Sydney", "Australia"}, {"Mumbai", "India"}, {"São Paulo", "Brazil"}}
	adjectives = []string{"Classic", "Deluxe", "Eco", "Mini", "Pro", "Smart", "Travel", "Vintage"}
	nouns      = [][2]string{{"Mug", "Kitchen"}, {"Lamp", "Home"}, {"Backpack", "Outdoor"}, {"Notebook", "Office"}, {"Speaker", "Electronics"}}
	statuses   = []string{"Pending", "Shipped", "Delivered", "Cancelled"}
	seedEpoch  = time.Date(2023, 1, 2, 9, 0, 0, 0, time.UTC)
)

func seedCustomers() *table {
	t := &table{name: "Customers", fields: []field{
		{"PK_ID", typeAutonumber}, {"Name", typeString}, {"Email", typeString},
		{"City", typeString}, {"Country", typeString}, {"CreatedAt", typeDateTime},
	}}
	for i := range 250 {
		first, last := firstNames[i%len(firstNames)], lastNames[i/len(firstNames)%len(lastNames)]
		city := cities[(i*7)%len(cities)]
		t.rows = append(t.rows, row{
			int64(i + 1), first + " " + last,
			strings.ToLower(first+"."+last) + "@example.com",
			city[0], city[1],
			seedEpoch.Add(time.Duration(i) * (37*time.Hour + 13*time.Minute)),
		})
	}
	return t
}

func seedProducts() *table {
	t := &table{name: "Products", fields: []field{
		{"PK_ID", typeAutonumber}, {"Name", typeString}, {"Category", typeString},
		{"Price", typeNumber}, {"Stock", typeInteger},
	}}
	for i := range len(adjectives) * len(nouns) {
		noun := nouns[i%len(nouns)]
		t.rows = append(t.rows, row{
			int64(i + 1), adjectives[i/len(nouns)] + " " + noun[0], noun[1],
			float64(5+(i*37)%200) + 0.99, int64((i * 53) % 120),
		})
	}
	return t
}

func seedOrders(products *table) *table {
	t := &table{name: "Orders", fields: []field{
		{"PK_ID", typeAutonumber}, {"CustomerID", typeInteger}, {"Product", typeString},
		{"Quantity", typeInteger}, {"Total", typeNumber}, {"Status", typeString}, {"OrderDate", typeDateTime},
	}}
	orderEpoch := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	for i := range 2500 {
		p := products.rows[(i*11)%len(products.rows)]
		qty := int64(1 + (i*7)%9)
		t.rows = append(t.rows, row{
			int64(i + 1), int64((i*37)%250 + 1), p[1], qty,
			math.Round(float64(qty)*p[3].(float64)*100) / 100,
			statuses[(i*3+i/7)%len(statuses)],
			orderEpoch.Add(time.Duration(i) * (3*time.Hour + 17*time.Minute)),
		})
	}
	return t
}

// record is a row projected onto some fields. It marshals as a JSON object with the
// fields in table order, as Caspio answers, which a map could not keep.
type record struct {
	names  []string
	values []any
}

func (r record) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, name := range r.names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(valueJSON(r.values[i]))
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func valueJSON(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case time.Time:
		return `"` + v.Format(dateLayout) + `"`
	case string:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return "null"
}

// parseDate accepts the date forms a Caspio client is likely to send.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{dateLayout, "2006-01-02", "2006-01-02 15:04:05", time.RFC3339, "01/02/2006", "01/02/2006 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			// Caspio stores no zone; keep the wall clock the client wrote.
			return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC), true
		}
	}
	return time.Time{}, false
}
