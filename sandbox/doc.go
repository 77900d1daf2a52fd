// Package sandbox is a local emulator of a Caspio account: its OAuth 2.0 token endpoint
// and its REST API (v2 and v3), with seeded demo tables, a clock that tests can move, and
// injectable faults. Clients in every runtime (Go, Node, browsers, Workers) are tested
// against it instead of a real account, which would rate-limit them and whose refresh
// token pool (1,000 per account) tests would exhaust.
//
// It deliberately imports nothing from the client packages of this module: an emulator
// that reused the client's parsing would agree with the client's mistakes.
//
// # Starting it
//
// As a process, for JS tests or by hand:
//
//	go run ./cmd/caspio-sandbox [-addr 127.0.0.1:0] [-rotate-refresh] [-v]
//
// Its first line on stdout is "listening on http://HOST:PORT".
//
// From Go tests:
//
//	sb := sandbox.New(sandbox.Options{})
//	srv := httptest.NewServer(sb)
//	defer srv.Close()
//	// token endpoint: srv.URL + "/oauth/token"; resources: srv.URL + "/rest/v2"
//	sb.Advance(25 * time.Hour) // expire the access token
//
// The default credentials are DefaultClientID ("sandbox-client") and
// DefaultClientSecret ("sandbox-secret").
//
// # What it emulates
//
// POST /oauth/token takes grant_type=client_credentials (credentials in the body or in
// an Authorization: Basic header, decoded strictly) and grant_type=refresh_token. Each
// client_credentials grant mints a refresh token; at most Options.RefreshTokenCap live
// ones are kept and minting one more silently evicts the oldest, as at Caspio. A refresh
// token never used expires 60 days after it was issued, one used at least once a year
// after. Errors follow RFC 6749: invalid_client (401), invalid_grant (400 for an unknown,
// revoked or evicted refresh token; 401 for an expired one, as Caspio answers),
// unsupported_grant_type and invalid_request (400).
//
// The resource API answers under /rest/v2 and /integrations/rest/v3: GET tables,
// GET tables/{t}/fields, and GET, POST, PUT and DELETE tables/{t}/records with q.select,
// q.where (a small SQL subset), q.orderBy, q.groupBy (distinct values only), q.limit,
// q.pageNumber and q.pageSize. Errors are Caspio-shaped ({"Code", "Message", "Resource",
// "RequestId"}) and every response carries X-Caspio-Request-ID. The seeded tables are
// Customers (250 records), Orders (2,500) and Products (40), the same on every start.
//
// Views are read-only: GET views (their names), GET views/{v} ({"Name", "Note"}) and GET
// views/{v}/records with the same q.* parameters and answers as a table's records.
// ShippedOrders is Orders' shipped rows without PK_ID or Status; OrdersWithCustomers joins
// Orders to Customers on CustomerID, its fields named Orders_PK_ID, Orders_Product, ...,
// Customers_Name and Customers_Country; ProductsInStock is the Products with Stock above 0,
// without PK_ID. A view has no key of its own, and is built from the tables at each read.
//
// The answers, in short (see "Matching Caspio" below for why):
//
//	GET tables, GET tables/{t}/fields      {"Result": [...]}
//	GET tables/{t}/records (v2)            {"Result": [...]}
//	GET tables/{t}/records (v3)            {"Result": [...],
//	                                        "Pagination": {"PageNumber", "PageSize", "TotalCount"}}
//	POST records                           201, no body
//	POST records?response=rows             201 {"RecordsAffected": 1, "Result": [row]}
//	PUT records?q.where=...                {"RecordsAffected": n, "Result": []}
//	PUT records?q.where=...&response=rows  {"RecordsAffected": n, "Result": [rows]}
//	DELETE records?q.where=...             {"RecordsAffected": n}
//
// An empty q.select, q.where, q.groupBy or q.orderBy counts as absent on a read, and
// q.select=* selects every field. An empty response= asks for no rows. PUT and DELETE
// need a non-empty condition: q.where, or on v3 also a bare where. With both q.pageNumber
// or q.pageSize and q.limit, paging wins.
//
// # Control API
//
// Under /__sandbox/, without authentication, all JSON:
//
//	GET  /__sandbox/                   the routes
//	GET  /__sandbox/clock              {"now": RFC 3339}
//	POST /__sandbox/clock?advance=25h  move the clock (Go duration, or days: 61d, 1d12h)
//	GET  /__sandbox/faults             the queued faults, with what remains of each count
//	POST /__sandbox/faults             queue one fault object or an array of them
//	DELETE /__sandbox/faults           clear them
//	GET  /__sandbox/stats              the Stats counters
//	POST /__sandbox/reset              tokens, stats, faults, clock and data back to the start
//	POST /__sandbox/revoke             revoke every access and refresh token
//
// # Faults
//
// A fault replaces the normal handling of the next count requests whose path starts with
// route. Faults are queued in order, and a request takes the first matching one:
//
//	{"route": "/oauth/token", "count": 2, "status": 503, "retry_after": "1"}
//	{"route": "/rest/v2/", "delay_ms": 300}                  a pure delay, then normal handling
//	{"route": "/rest/v2/", "status": 200, "body": "not json", "content_type": "text/html"}
//	{"route": "/oauth/token", "drop": true}                  close the connection, no response
//	{"route": "/oauth/token", "status": 302, "location": "https://example.invalid/"}
//
// Fields: route (required), count (default 1), status (200-599; with no status and no
// body the fault is a pure delay), delay_ms (capped at 60 s, ends early if the client goes
// away), body (verbatim; if absent, an error body shaped for the route), content_type
// (default application/json), retry_after and location (headers), drop. A faulted token
// request still counts in Stats.TokenRequests. CORS preflights and the control API are
// never faulted.
//
// # Matching Caspio
//
// The sandbox is only useful if clients written against real Caspio accounts work
// against it unchanged, so where Caspio's documentation is silent its shapes follow
// public clients that run against real accounts. The evidence, by source:
//
//   - [SDK] farlowdw/caspio-sdk, a published Node SDK for REST v2.
//     src/utils/caspio.js: the default criteria of every records read are select "*" and
//     empty where, groupBy and orderBy. src/utils/data-processing.js: every criterion is
//     sent as q.<name>, empty ones included; the paginated builder sends q.limit together
//     with q.pageNumber and q.pageSize. src/index.js: tables.updateRecords and
//     tables.createRecord send "response=" with an empty value unless rows are wanted
//     (their default); updateRecords reads Result.length from every PUT answer;
//     createRecord reads Result only if present; deleteRecords reads RecordsAffected;
//     the sample answer of tables.definition (GET fields) has, for each field, Name, Type,
//     Unique, UniqueAllowNulls, Label (empty), Description (empty), DisplayOrder and
//     IsFormula, and no PK_ID. Its views namespace: views.listing reads GET /v2/views as
//     Result, an array of view names; views.description reads GET /v2/views/{v} as Result
//     {Name, Note}; views.getRecords and getRecordsPaginated send the same criteria as for
//     tables (select, where, groupBy, orderBy, limit, pageNumber, pageSize) to
//     /v2/views/{v}/records and read Result; views.updateRecords, createRecord and
//     deleteRecords send PUT, POST and DELETE to /v2/views/{v}/records. The sample answer
//     of views.getRecords (a view of one table) has the table's own field names and no
//     PK_ID.
//   - [N8N] CaspioInnovations/n8n-node-caspioofficial, Caspio's own n8n node for REST v3
//     (package author Caspio Inc). nodes/Caspio/helpers/interfaces.ts: CaspioPagination
//     is {TotalCount, PageNumber, PageSize}, all optional, and CaspioListResponse is
//     {Result, Pagination?}. nodes/Caspio/helpers/utils.ts (getAllWithPagination): pages
//     records with q.pageNumber and q.pageSize=1000, reads Pagination.TotalCount from the
//     first page and, when it is absent, stops at a short page; the same code pages
//     /v3/files/folders. nodes/Caspio/actions/shared/selectRecords.operation.ts: q.*
//     parameters are sent only when not empty.
//     nodes/Caspio/actions/shared/updateRecords.operation.ts with
//     nodes/Caspio/actions/record/operations/update.operation.ts: PUT sends response=rows
//     and the condition as a bare "where" ("Where" for directories, whose API "uses
//     capitalized 'Where' (unlike Table API)").
//     nodes/Caspio/actions/shared/deleteRecords.operation.ts with
//     nodes/Caspio/actions/record/operations/delete.operation.ts: DELETE sends a bare
//     "where".
//     nodes/Caspio/methods/listSearch.ts: GET /v3/tables is read as {Result: string[]}.
//     nodes/Caspio/helpers/utils.ts (isFormulaField): fields are filtered by IsFormula.
//   - [PROXY] ErikM1974/caspio-pricing-proxy, a production service on REST v3.
//     src/utils/caspio.js: putWithRecordsAffected documents that Caspio answers a PUT
//     without response=rows with {"RecordsAffected":N,"Result":[]}; makeCaspioRequest
//     that a DELETE answers 200 {"RecordsAffected": N}, N=0 when nothing matched, and a
//     POST 201 with an empty body; fetchAllCaspioPages that q.pageSize below 5 is refused
//     with IncorrectQueryParameter and that q.limit and q.pageSize+q.pageNumber, without
//     q.orderBy, return different first pages (measured). memory/LESSONS_LEARNED.md:
//     TotalRecords "is a field Caspio REST v3 does not return" on records reads; a DELETE
//     without a WHERE was answered 400; "Caspio POST returns 201 with empty body"; an
//     unknown field in a POST body was answered 404 FieldNotFound; the fields listing
//     omits PK_ID. src/routes/art.js: a POST returns no body, so the new record is read
//     back with a follow-up GET.
//   - [APP] patrick3395/caspio-mobile-app, src/app/services/background-sync.service.ts:
//     a PUT matching nothing answers 200 with RecordsAffected 0.
//   - [DOCS] Caspio's help center. "Special Considerations" (REST API): "Select *" or an
//     empty field list returns all fields but password fields. "Migration to REST API v3":
//     lists pagination additions for GET /v3/files and /v3/files/folders only, and no
//     change to records operations. The older "Table Operations" (v1): an insert answers
//     "201 Created" and a Location header.
//
// Decisions:
//
//   - q.select=* and an empty or blank q.select select every field; "*" may also be one
//     item of a list ([SDK], [DOCS] Special Considerations). Other empty q.where, q.groupBy
//     and q.orderBy values count as absent ([SDK]: sent on every read).
//   - An empty response= asks for no rows on POST and PUT ([SDK]: its default path).
//     Values other than rows are still refused: no client sends one.
//   - A PUT always answers Result, an empty array unless rows were asked for ([SDK] for v2,
//     [PROXY] for v3, [APP] for RecordsAffected 0).
//   - A POST without response=rows answers 201 with no body ([PROXY] for v3; [SDK] reads
//     the body only if it has Result; [DOCS] v1 for 201). With response=rows it answers
//     {"RecordsAffected": 1, "Result": [row]}. Thin: no client shows whether
//     RecordsAffected is there; both read only Result.
//   - A DELETE answers {"RecordsAffected": n} and nothing else ([PROXY], [SDK]).
//   - A v3 records read answers Pagination {PageNumber, PageSize, TotalCount}, the names
//     [N8N] reads, and not TotalRecords or TotalPages, which no client finds in Caspio's
//     answers ([PROXY] found no TotalRecords). Thin: [N8N] treats Pagination as optional
//     and has a fallback, no client shows a whole v3 records answer, and [DOCS] names
//     pagination additions only for files and folders. The sandbox includes Pagination on
//     every v3 records read, also one with q.limit alone (PageNumber 1, PageSize the
//     limit), which is a guess; v2 has none ([SDK] reads only Result).
//   - GET tables and GET tables/{t}/fields answer {"Result": [...]} with no Pagination in
//     both versions ([N8N] reads /v3/tables as {Result: string[]}; [SDK]). Thin for v3: no
//     client shows what else the answer holds.
//   - On v3, PUT and DELETE also take the condition as a bare where ([N8N]). With both
//     where and q.where the sandbox refuses the call: no evidence says which Caspio uses.
//     On v2 a bare where is ignored, as any parameter without "q." (no evidence for v2).
//   - PUT and DELETE with an empty or blank q.where are refused as without one ([PROXY]:
//     a DELETE without a WHERE was answered 400). Whether Caspio tells empty from absent
//     is not known.
//   - Paging wins over q.limit when both are given ([SDK] sends both on every paged read
//     and expects pages). Thin: no answer to such a read is shown anywhere.
//   - A field of GET fields has Name, Type, Unique, UniqueAllowNulls, Label and
//     Description (empty), DisplayOrder and IsFormula ([SDK] sample, [N8N] reads
//     IsFormula and falls back from an empty Label to Name). There is no Editable: no
//     real answer shows one.
//
// Found and not changed:
//
//   - Caspio's fields listing omits PK_ID ([PROXY] LESSONS_LEARNED.md, [SDK] sample); the
//     sandbox lists it as an AUTONUMBER field, because the admin page finds its key column
//     there. Dropping it needs that page changed first.
//   - An unknown field in a POST body: [PROXY] saw 404 FieldNotFound on v3; the sandbox
//     answers 400 IncorrectBodyParameter. One observation, and v3's new error codes are
//     not listed anywhere ([DOCS] Migration: "HTTP codes, error codes, and messages were
//     updated").
//   - The Location header of a 201: [DOCS] v1 promises one, but [PROXY]'s v3 code finds
//     it absent or in differing forms (src/routes/designs.js,
//     src/routes/emb-design-routes.js, src/routes/art.js); the sandbox sends none.
//   - Without q.orderBy, Caspio's q.limit and q.pageSize+q.pageNumber may order rows
//     differently ([PROXY]); the sandbox keeps table order for both.
//   - Empty q.limit, q.pageNumber and q.pageSize are still refused: no client sends them.
//   - Aggregates in q.select (COUNT(*), SUM(x) AS y) with q.groupBy, which [N8N] and [SDK]
//     can send, are refused: beyond the sandbox's SQL subset.
//   - GET tables/{t} (the table's description, read by [SDK] tables.description) answers
//     404, as do files, directories and tasks.
//   - Views are read-only: a POST, PUT or DELETE to views/{v}/records answers 405, although
//     [SDK] writes through views. Records are written through their tables here, so that
//     one code path owns the writes; a client that writes through a view finds out at once.
//   - The field names of a view over two tables ("Orders_PK_ID") are a guess: no answer of
//     such a view is shown anywhere. A view of one table keeps the table's names ([SDK]).
//   - [PROXY] notes 400 IncorrectQueryParameter answers to a stale token; the sandbox
//     answers 401, as Caspio documents.
package sandbox
