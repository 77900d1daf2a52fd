module github.com/caspio-auth/caspio

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	github.com/syumai/workers v0.33.0
	golang.org/x/oauth2 v0.37.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
