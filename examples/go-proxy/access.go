package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// accessConfig is the Cloudflare Access team whose tokens the proxy accepts, from
// PROXY_ACCESS_TEAM_DOMAIN and PROXY_ACCESS_AUD.
type accessConfig struct {
	issuer    string   // the team domain, "https://<team>.cloudflareaccess.com": the tokens' iss
	certsURL  string   // where the team publishes its keys, as a JSON Web Key Set
	audiences []string // the application audience (AUD) tags accepted in aud
}

const (
	maxAccessToken     = 8192             // characters; Access tokens are about 1 KB
	maxJWKS            = 1 << 20          // bytes of the team's key set read
	accessKeysTTL      = time.Hour        // how long fetched keys are used
	accessRefetch      = time.Minute      // an unknown kid fetches the keys again at most this often
	accessFetchTimeout = 5 * time.Second  // for one fetch of the keys
	accessClockSkew    = 60 * time.Second // tolerated for a token's nbf (not for its exp)
	accessHeader       = "Cf-Access-Jwt-Assertion"
)

// keyCache keeps the team's key set between requests. A Go Worker starts a fresh Go
// instance for every request, so its cache is the Workers Cache API (keycache_js.go); the
// host build keeps the keys in memory.
type keyCache interface {
	// Load returns the key set stored for url and when it was fetched.
	Load(ctx context.Context, url string) (jwks []byte, fetchedAt time.Time, ok bool)
	// Store keeps the key set fetched from url at fetchedAt.
	Store(ctx context.Context, url string, jwks []byte, fetchedAt time.Time)
}

// memoryKeyCache is a keyCache in memory, for a process that serves many requests.
type memoryKeyCache struct {
	mu      sync.Mutex
	entries map[string]cachedKeys
}

type cachedKeys struct {
	jwks      []byte
	fetchedAt time.Time
}

func (m *memoryKeyCache) Load(_ context.Context, url string) ([]byte, time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[url]
	return e.jwks, e.fetchedAt, ok
}

func (m *memoryKeyCache) Store(_ context.Context, url string, jwks []byte, fetchedAt time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[string]cachedKeys{}
	}
	m.entries[url] = cachedKeys{jwks, fetchedAt}
}

// accessVerifier checks Cloudflare Access tokens: JWTs signed with RS256 by one of the
// team's published keys, for one of the configured audiences, not expired. It uses Go's
// crypto/rsa, which a Go Worker links already (net/http's TLS needs it), so that the same
// code runs in the Worker and in the native tests.
type accessVerifier struct {
	cfg   *accessConfig
	http  *http.Client
	cache keyCache
	now   func() time.Time
	log   *log.Logger
}

// errKeysUnavailable is returned when the team's keys cannot be fetched.
var errKeysUnavailable = errors.New("the Cloudflare Access keys could not be fetched")

// verify returns "" when token holds, or what is wrong with it (never quoting it), or
// errKeysUnavailable.
func (v *accessVerifier) verify(ctx context.Context, token string) (string, error) {
	if len(token) > maxAccessToken {
		return "is " + strconv.Itoa(len(token)) + " characters long; an Access token is at most " + strconv.Itoa(maxAccessToken), nil
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "has " + strconv.Itoa(len(parts)) + " dot-separated parts; a JWT has 3", nil
	}
	for i, part := range parts {
		if part == "" {
			return "has an empty part " + strconv.Itoa(i+1), nil
		}
		for j := 0; j < len(part); j++ {
			if c := part[j]; !(isAlnum(c) || c == '-' || c == '_') {
				return "has a character outside base64url at position " + strconv.Itoa(j+1) + " of part " + strconv.Itoa(i+1), nil
			}
		}
	}
	var header, claims map[string]any
	if !decodeJSONPart(parts[0], &header) || !decodeJSONPart(parts[1], &claims) {
		return "has a header or payload that is not base64url-encoded JSON", nil
	}
	if header == nil || claims == nil {
		return "has a header or payload that is not a JSON object", nil
	}
	if alg, _ := header["alg"].(string); alg != "RS256" {
		return "is not signed with RS256, the algorithm of Cloudflare Access", nil
	}
	kid, _ := header["kid"].(string)
	if kid == "" {
		return "has no key ID (kid) in its header", nil
	}

	key, err := v.key(ctx, kid)
	if err != nil {
		return "", err
	}
	if key == nil {
		return "is signed by a key that the team's Access keys do not include", nil
	}
	signature, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "has a signature that is not base64url", nil
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], signature) != nil {
		return "has a signature that does not verify", nil
	}

	if iss, _ := claims["iss"].(string); iss != v.cfg.issuer {
		return "was issued by another team's Access, not the one of PROXY_ACCESS_TEAM_DOMAIN", nil
	}
	var audiences []any
	switch aud := claims["aud"].(type) {
	case string:
		audiences = []any{aud}
	case []any:
		audiences = aud
	}
	if !slices.ContainsFunc(audiences, func(a any) bool { s, ok := a.(string); return ok && slices.Contains(v.cfg.audiences, s) }) {
		return "is for another Access application (its aud is none of PROXY_ACCESS_AUD)", nil
	}
	now := v.now()
	exp, ok := claims["exp"].(float64)
	if !ok {
		return "has no expiry (exp)", nil
	}
	if float64(now.UnixMilli())/1000 >= exp {
		return "has expired; sign in again", nil
	}
	if nbf, present := claims["nbf"]; present {
		n, ok := nbf.(float64)
		if !ok || float64(now.Add(accessClockSkew).UnixMilli())/1000 < n {
			return "is not valid yet (nbf)", nil
		}
	}
	return "", nil
}

// decodeJSONPart decodes one base64url part of a JWT as JSON into v.
func decodeJSONPart(part string, v any) bool {
	data, err := base64.RawURLEncoding.DecodeString(part)
	return err == nil && json.Unmarshal(data, v) == nil
}

// key returns the team's public key with ID kid: from the key set fetched within the
// hour, else fetched now. An unknown kid fetches the keys again, at most once a minute, for
// a key Cloudflare has just rotated in. Nil when the team has no such key.
func (v *accessVerifier) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	now := v.now()
	jwks, fetchedAt, cached := v.cache.Load(ctx, v.cfg.certsURL)
	var keys map[string]*rsa.PublicKey
	if cached {
		var err error
		if keys, err = parseJWKS(jwks); err != nil {
			cached = false
		}
	}
	stale := !cached || now.Sub(fetchedAt) > accessKeysTTL
	unknown := cached && keys[kid] == nil && now.Sub(fetchedAt) > accessRefetch
	if stale || unknown {
		fresh, err := v.fetchKeys(ctx)
		var parsed map[string]*rsa.PublicKey
		if err == nil {
			parsed, err = parseJWKS(fresh)
		}
		switch {
		case err == nil:
			keys = parsed
			v.cache.Store(ctx, v.cfg.certsURL, fresh, now)
		case !cached:
			v.log.Printf("access keys: %v", err)
			return nil, errKeysUnavailable
		default:
			// Keep the keys fetched before, and try again in a minute.
			v.log.Printf("access keys: %v; the keys fetched before are used", err)
			if retry := now.Add(accessRefetch - accessKeysTTL); fetchedAt.Before(retry) {
				v.cache.Store(ctx, v.cfg.certsURL, jwks, retry)
			}
		}
	}
	return keys[kid], nil
}

// fetchKeys fetches the team's key set, following no redirect.
func (v *accessVerifier) fetchKeys(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, accessFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.certsURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	hc := *v.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return nil, errors.New("the team's keys endpoint could not be reached")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New("the team's keys endpoint answered HTTP " + strconv.Itoa(resp.StatusCode))
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxJWKS))
}

// parseJWKS reads the RSA keys of a JSON Web Key Set by key ID; other keys are skipped.
func parseJWKS(data []byte) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil || set.Keys == nil {
		return nil, errors.New("the team's keys endpoint did not answer a JSON Web Key Set")
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Kid == "" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(n) < 256 || len(e) == 0 || len(e) > 4 {
			continue // a key that verifies nothing: shorter than 2048 bits, or malformed
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 || exp%2 == 0 {
			continue
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
	}
	return keys, nil
}
