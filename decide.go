package caspio

// Action is what a client should do now, as Decide says.
type Action string

// Actions.
const (
	UseLease     Action = "lease"        // use Decision.Lease for the request
	Refresh      Action = "refresh"      // perform TokenRequest(Refresh, state) first
	Authenticate Action = "authenticate" // perform TokenRequest(Authenticate, state) first
)

// Decision is the answer of Decide.
type Decision struct {
	Action Action
	Lease  Lease // set when Action is UseLease
}

// Lease is the right to send one access token until ValidUntil: a driver may reuse it
// without asking the Settings again until then, or until a 401 revokes it (see Unauthorized).
// That keeps the hot path of every runtime free of calls into the core.
type Lease struct {
	Authorization Secret    // the Authorization header value, "Bearer <access token>"
	ValidUntil    UnixMilli // the refresh margin before the token expires
}

// Refresh tokens expire on Caspio's side 60 days after they were minted if they have never
// been used, and 1 year after they were minted otherwise.
const (
	RefreshTokenUnusedLifetime = 60 * Day
	RefreshTokenLifetime       = 365 * Day
)

// Owns reports whether s was obtained by the client of these settings from their token endpoint.
// State stored for another client or endpoint is never used.
func (f *Settings) Owns(s State) bool {
	return s.ClientID == f.clientID && s.TokenURL == f.tokenURL
}

// Decide says what a client holding s should do at now: use a lease on the access token,
// refresh it, or authenticate with the client ID and secret.
func (f *Settings) Decide(s State, now UnixMilli) Decision {
	if !f.Owns(s) {
		return Decision{Action: Authenticate}
	}
	if until, ok := f.leaseUntil(s); ok && now < until {
		return Decision{Action: UseLease, Lease: Lease{
			Authorization: NewSecret("Bearer " + s.AccessToken.Reveal()),
			ValidUntil:    until,
		}}
	}
	if f.RefreshTokenUsable(s, now) {
		return Decision{Action: Refresh}
	}
	return Decision{Action: Authenticate}
}

// leaseUntil is when a lease on s's access token ends: the refresh margin before expiry, but
// never more than half the token's lifetime, so that a short-lived token is still used.
func (f *Settings) leaseUntil(s State) (UnixMilli, bool) {
	if s.AccessToken.IsZero() || s.ExpiresAt == 0 {
		return 0, false
	}
	margin := f.margin
	if lifetime := s.ExpiresAt.Sub(s.ObtainedAt); s.ObtainedAt != 0 && margin > lifetime/2 {
		margin = lifetime / 2
	}
	return s.ExpiresAt.Add(-margin), true
}

// RefreshTokenUsable reports whether s holds a refresh token that Caspio still accepts at
// now, as far as the client can tell: minted less than 60 days ago, or used since and
// minted less than a year ago, with the refresh margin to spare.
func (f *Settings) RefreshTokenUsable(s State, now UnixMilli) bool {
	if s.RefreshToken.IsZero() {
		return false
	}
	expiry := RefreshTokenExpiry(s)
	return now < expiry.Add(-f.margin)
}

// RefreshTokenExpiry is when s's refresh token expires on Caspio's side.
func RefreshTokenExpiry(s State) UnixMilli {
	if s.RefreshUsedAt == 0 {
		return s.RefreshIssuedAt.Add(RefreshTokenUnusedLifetime)
	}
	return s.RefreshIssuedAt.Add(RefreshTokenLifetime)
}

// Unauthorized handles a 401 answered to a resource request that carried the Authorization
// value sent. It drops the access token only if sent carried the current one: when several
// requests fail with one old token, the first 401 revokes it and the rest find a newer token
// already in place, so one refresh serves them all. It reports whether the token was dropped.
func (f *Settings) Unauthorized(s State, sent string) (State, bool) {
	if s.AccessToken.IsZero() || sent != "Bearer "+s.AccessToken.Reveal() {
		return s, false
	}
	s.AccessToken, s.ExpiresAt, s.ObtainedAt = Secret{}, 0, 0
	return s, true
}
