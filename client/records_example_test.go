package client_test

import (
	"context"
	"fmt"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
)

func ExampleClient_Records() {
	sb, ts, cfg := startSandbox()
	defer ts.Close()
	c, err := client.New(cfg, client.Options{Now: sb.Now})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	q := caspio.Query{Where: "Status = 'Shipped' AND Total > 300", Select: []string{"PK_ID", "Total"}}
	n := 0
	for rec, err := range c.Records(ctx, "Orders", q) {
		if err != nil {
			fmt.Println(err)
			return
		}
		if n++; n == 1 {
			fmt.Println("first:", rec["PK_ID"], rec["Total"])
		}
	}
	fmt.Println("shipped over 300:", n)

	res, err := c.UpdateRecords(ctx, "Orders", "PK_ID = 7", map[string]any{"Status": "Delivered"}, false)
	fmt.Println("updated:", res.RecordsAffected, err)
	_, err = c.DeleteRecords(ctx, "Orders", "")
	fmt.Println(err)
	// Output:
	// first: 9 305.97
	// shipped over 300: 311
	// updated: 1 <nil>
	// caspio client: delete records: caspio: config where: is empty, and Caspio deletes only the records a condition matches; give one, such as "PK_ID = 7"; to delete every record, say so with "PK_ID > 0"
}
