package config

import (
	"context"
	"net/url"

	"github.com/switchyard-dev/switchyard/pkg/netscope"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// checkDestinationNetwork rejects a destination whose URL host is a
// literal non-public IP address or localhost while its connection c is
// on the public network, where delivery would reject every call.
//
// Other host names pass, because the addresses they resolve to may
// change after this write; delivery checks each address it dials.
func checkDestinationNetwork(d *v1.ApiDestination, c *v1.Connection) error {
	if c.GetNetwork() == v1.Network_NETWORK_PRIVATE {
		return nil
	}
	host, kind := nonPublicURLHost(d.GetUrl())
	if kind == "" {
		return nil
	}
	return invalidf(destinationsField+".url",
		"the destination URL host %s is a %s, which connection %q cannot reach on the "+
			"public network; use a public address, or, if the endpoint is on your private "+
			"network, run: switchyard connection update %s --network private",
		host, kind, c.GetName(), c.GetName())
}

// checkConnectionDestinations rejects moving connection c to the public
// network while one of its destinations has a URL host that
// checkDestinationNetwork rejects. It names the first such destination.
func checkConnectionDestinations(c *v1.Connection, destinations []*v1.ApiDestination) error {
	for _, d := range destinations {
		host, kind := nonPublicURLHost(d.GetUrl())
		if kind == "" {
			continue
		}
		return invalidf("connection.network",
			"connection %q cannot move to the public network: its API destination %q has "+
				"the URL host %s, a %s; keep the connection private (--network private), or "+
				"point the destination at a public address with: switchyard destination "+
				"update %s --url URL",
			c.GetName(), d.GetName(), host, kind, d.GetName())
	}
	return nil
}

// checkNetworkChange applies checkConnectionDestinations when an update
// moves a connection from the private to the public network. A
// connection already public keeps its destinations as they are.
func (s *Service) checkNetworkChange(ctx context.Context, stored, next *v1.Connection) error {
	if stored.GetNetwork() != v1.Network_NETWORK_PRIVATE || next.GetNetwork() == v1.Network_NETWORK_PRIVATE {
		return nil
	}
	using, err := s.destinationsOf(ctx, next.GetName())
	if err != nil {
		return err
	}
	return checkConnectionDestinations(next, using)
}

// checkTokenURLNetwork rejects an OAuth token URL whose host is a
// literal non-public address or localhost on a public connection, where
// delivery would refuse every token request. Other host names pass, as
// in checkDestinationNetwork.
func checkTokenURLNetwork(c *v1.Connection) error {
	o := c.GetOauthClientCredentials()
	if o == nil || c.GetNetwork() == v1.Network_NETWORK_PRIVATE {
		return nil
	}
	host, kind := nonPublicURLHost(o.GetTokenUrl())
	if kind == "" {
		return nil
	}
	return invalidf("connection.oauth_client_credentials.token_url",
		"the OAuth token URL host %s is a %s, which a connection on the public network "+
			"cannot reach; use a public address, or --network private if the token endpoint "+
			"is on your private network", host, kind)
}

// nonPublicURLHost returns the host of rawURL and its kind when the host
// is a literal non-public address or localhost, else kind "".
func nonPublicURLHost(rawURL string) (host, kind string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", ""
	}
	host = u.Hostname()
	return host, netscope.NonPublicHost(host)
}
