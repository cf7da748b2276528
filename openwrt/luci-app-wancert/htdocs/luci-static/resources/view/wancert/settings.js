'use strict';
'require view';
'require form';
'require fs';
'require uci';
'require ui';
'require tools.widgets as widgets';

// Forms for /etc/config/wancert. The lists of types come from the binary
// (`wancert providers|deployers|notifiers`, one "name<TAB>about" a line) and
// the port forwards from `wancert targets` ("name<TAB>proto<TAB>from -> to"),
// so the page offers what this build of wancert knows.

var WANCERT = '/usr/bin/wancert';

function listing(cmd) {
	return L.resolveDefault(fs.exec(WANCERT, [ cmd ]), { code: 1 }).then(function(res) {
		if (res.code !== 0 || !res.stdout)
			return [];
		return res.stdout.trim().split('\n').filter(function(l) { return l.length; }).map(function(l) {
			var f = l.split('\t');
			return { name: f[0], about: f.slice(1).join('  ') };
		});
	});
}

function typeOption(s, types, what) {
	var o = s.option(form.ListValue, 'type', _('Type'));
	types.forEach(function(t) { o.value(t.name, '%s: %s'.format(t.name, t.about)); });
	if (!types.length)
		o.description = _('wancert did not list its %s types: is /usr/bin/wancert installed?').format(what);
	o.rmempty = false;
	return o;
}

function sectionNames(type) {
	return uci.sections('wancert', type).map(function(s) { return s['.name']; });
}

function testProvider(section_id) {
	var certs = uci.sections('wancert', 'cert').filter(function(c) { return c.provider === section_id; });
	var first = certs.length && L.toArray(certs[0].domain)[0] || '';
	var input = E('input', { 'class': 'cbi-input-text', 'type': 'text', 'value': first.replace(/^\*\./, ''), 'placeholder': 'host.example.com' });
	var output = E('pre', { 'style': 'white-space:pre-wrap' });
	ui.showModal(_('Test DNS provider %s').format(section_id), [
		E('p', _('Adds a TXT record under the name through the saved configuration of this provider, checks that it is visible, and removes it. Save & apply changes first.')),
		E('p', [ _('Name'), ' ', input ]),
		output,
		E('div', { 'class': 'right' }, [
			E('button', { 'class': 'btn', 'click': ui.hideModal }, _('Close')), ' ',
			E('button', { 'class': 'btn cbi-button-action', 'click': function(ev) {
				var button = ev.currentTarget;
				button.disabled = true;
				output.textContent = _('Testing…');
				return fs.exec(WANCERT, [ 'dns-test', section_id, input.value.trim() ]).then(function(res) {
					output.textContent = ((res.stdout || '') + (res.stderr || '')).trim() ||
						(res.code === 0 ? _('The provider works.') : _('The test failed (exit code %d).').format(res.code));
				}).catch(function(e) {
					output.textContent = e.message;
				}).finally(function() { button.disabled = false; });
			} }, _('Test'))
		])
	]);
}

// The options of each provider type, as its module in src/providers reads
// them: [option, label, types, extra]. One form option per UCI option, shown
// for every type that reads it (two form options of one name would fight on
// save: an inactive one removes the value). Secrets may instead live in a file
// readable by root only: `option NAME_file '/etc/wancert/NAME'` (not offered
// here, kept when present).
var PROVIDER_OPTIONS = [
	[ 'server', _('Server'), 'rfc2136 acmedns dyndns2', { description: _('rfc2136: the primary name server; acmedns: the acme-dns URL; dyndns2: noip, dynu, dyn or the update URL') } ],
	[ 'port', _('Port'), 'rfc2136', { datatype: 'port', placeholder: '53' } ],
	[ 'tsig_name', _('TSIG key name'), 'rfc2136', {} ],
	[ 'tsig_algorithm', _('TSIG algorithm'), 'rfc2136', { values: [ 'hmac-sha256', 'hmac-sha512' ] } ],
	[ 'tsig_secret', _('TSIG secret (base64)'), 'rfc2136', { secret: true } ],
	[ 'tcp', _('TCP only'), 'rfc2136', { flag: true, description: _('For a firewall that drops DNS over UDP.') } ],
	[ 'api_token', _('API token'), 'cloudflare digitalocean hetzner gandi', { secret: true } ],
	[ 'token', _('Token'), 'desec duckdns dynv6', { secret: true } ],
	[ 'domain', _('Duck DNS name'), 'duckdns', { optional: true, description: _('Found from the record name when empty.') } ],
	[ 'api_key', _('API key'), 'godaddy porkbun powerdns', { secret: true } ],
	[ 'api_secret', _('API secret'), 'godaddy', { secret: true } ],
	[ 'secret_api_key', _('Secret API key'), 'porkbun', { secret: true } ],
	[ 'access_key_id', _('AccessKey ID'), 'alidns route53', {} ],
	[ 'access_key_secret', _('AccessKey secret'), 'alidns', { secret: true } ],
	[ 'secret_access_key', _('Secret access key'), 'route53', { secret: true } ],
	[ 'session_token', _('Session token'), 'route53', { secret: true, optional: true } ],
	[ 'secret_id', _('SecretId'), 'dnspod', {} ],
	[ 'access_key', _('Access key (AK)'), 'huaweicloud', {} ],
	[ 'secret_key', _('Secret key'), 'dnspod huaweicloud', { secret: true } ],
	[ 'project_id', _('Project ID'), 'huaweicloud', { optional: true } ],
	[ 'region', _('Region'), 'alidns huaweicloud', { optional: true } ],
	[ 'server_id', _('Server ID'), 'powerdns', { optional: true, placeholder: 'localhost' } ],
	[ 'username', _('User name'), 'acmedns dyndns2', {} ],
	[ 'password', _('Password'), 'acmedns dyndns2', { secret: true } ],
	[ 'subdomain', _('Subdomain'), 'acmedns', { description: _('What acme-dns registered: the CNAME target\'s first label.') } ],
	[ 'ipv6_param', _('IPv6 parameter'), 'dyndns2', { optional: true, placeholder: 'myipv6' } ],
	[ 'command', _('Command'), 'exec', { list: true, description: _('Program, then one argument per entry; called with present|cleanup NAME VALUE, never through a shell.') } ],
	[ 'timeout', _('Timeout (s)'), 'exec', { datatype: 'uinteger', optional: true } ],
	[ 'endpoint', _('API endpoint'), 'powerdns alidns dnspod huaweicloud route53 cloudflare desec duckdns dynv6 godaddy porkbun digitalocean hetzner gandi acmedns', { optional: true, description: _('powerdns: its API URL (required). Others: leave empty for the provider\'s own.') } ]
];

function providerOptions(s) {
	PROVIDER_OPTIONS.forEach(function(f) {
		var x = f[3], o;
		if (x.flag)
			o = s.option(form.Flag, f[0], f[1]);
		else if (x.list)
			o = s.option(form.DynamicList, f[0], f[1]);
		else if (x.values) {
			o = s.option(form.ListValue, f[0], f[1]);
			x.values.forEach(function(v) { o.value(v); });
		}
		else
			o = s.option(form.Value, f[0], f[1]);
		f[2].split(' ').forEach(function(t) { o.depends('type', t); });
		if (x.secret)
			o.password = true;
		if (x.datatype)
			o.datatype = x.datatype;
		if (x.placeholder)
			o.placeholder = x.placeholder;
		if (x.description)
			o.description = x.description;
		o.optional = !!x.optional;
	});
}

return view.extend({
	load: function() {
		return Promise.all([
			listing('providers'), listing('deployers'), listing('notifiers'), listing('targets'),
			uci.load('wancert')
		]);
	},

	render: function(data) {
		var providers = data[0], deployers = data[1], notifiers = data[2], targets = data[3];
		var m, s, o;

		m = new form.Map('wancert', _('wancert settings'),
			_('Saving applies at once: the hourly cron job and the WAN hotplug use the new settings. Secrets are stored in /etc/config/wancert, readable by root only.'));

		// Global
		s = m.section(form.NamedSection, 'global', 'wancert', _('Global settings'));
		s.addremove = false;
		o = s.option(form.Value, 'acme_server', _('ACME server'), _('A shortcut or the CA\'s directory URL. Try letsencrypt-staging first.'));
		[ 'letsencrypt', 'letsencrypt-staging', 'zerossl', 'google' ].forEach(function(v) { o.value(v); });
		o.placeholder = 'letsencrypt';
		o = s.option(form.Value, 'email', _('Contact e-mail'), _('Given to the CA for its notices (optional).'));
		o = s.option(widgets.NetworkSelect, 'wan_interface', _('WAN interfaces'), _('Their coming up or a new address updates the DDNS records. Default: wan and wan6.'));
		o.multiple = true;
		o.nocreate = true;
		o = s.option(form.DynamicList, 'propagation_server', _('Propagation check servers'), _('host:port. Empty: ask the zone\'s authoritative servers.'));
		o = s.option(form.Value, 'propagation_timeout', _('Propagation timeout (s)'));
		o.datatype = 'uinteger';
		o.placeholder = '300';
		o = s.option(form.Value, 'propagation_interval', _('Propagation check interval (s)'));
		o.datatype = 'uinteger';
		o.placeholder = '5';
		o = s.option(form.DynamicList, 'doh_server', _('DNS-over-HTTPS resolvers'), _('Asked when outbound port 53 is blocked or intercepted. Empty: the built-in list.'));
		o.optional = true;
		o = s.option(form.Value, 'propagation_wait', _('Fixed wait instead of the check (s)'), _('Skips the propagation check: only for a provider whose servers cannot be asked.'));
		o.datatype = 'uinteger';
		o.optional = true;
		o = s.option(form.ListValue, 'account_key_type', _('New account key'));
		o.value('ec256', _('ECDSA P-256'));
		o.value('ec384', _('ECDSA P-384'));
		o.optional = true;
		o = s.option(form.Value, 'eab_kid', _('EAB key ID'), _('External account binding, from the CA\'s account page (ZeroSSL, Google).'));
		o.optional = true;
		o = s.option(form.Value, 'eab_hmac_key', _('EAB HMAC key'));
		o.password = true;
		o.optional = true;
		o = s.option(form.Value, 'notify_interval', _('Repeat notifications after (s)'), _('A failure that goes on is told again after this long.'));
		o.datatype = 'uinteger';
		o.placeholder = '86400';
		o = s.option(form.Value, 'expiry_warn_days', _('Expiry warning (days)'), _('Warn when renewing fails and the certificate expires within this many days.'));
		o.datatype = 'uinteger';
		o.placeholder = '14';
		o = s.option(form.Value, 'ca_file', _('Extra trusted roots'), _('PEM file, for a CA not in the ca-bundle package.'));
		o.optional = true;
		o = s.option(form.Value, 'state_dir', _('State directory'));
		o.placeholder = '/etc/wancert';
		o.optional = true;
		o = s.option(form.Value, 'run_dir', _('Run directory'));
		o.placeholder = '/var/run/wancert';
		o.optional = true;

		// DNS providers
		s = m.section(form.TypedSection, 'provider', _('DNS providers'), _('Where wancert adds the challenge TXT records and the DDNS addresses.'));
		s.addremove = true;
		s.anonymous = false;
		typeOption(s, providers, _('provider'));
		providerOptions(s);
		o = s.option(form.Value, 'zone', _('Zone'), _('Found from the SOA record when empty.'));
		o.datatype = 'hostname';
		o.optional = true;
		o = s.option(form.Button, '_test', _('Test'));
		o.inputtitle = _('Test DNS provider…');
		o.inputstyle = 'action';
		o.onclick = function(ev, section_id) { testProvider(section_id); };

		// DDNS records
		s = m.section(form.TypedSection, 'ddns', _('DDNS records'), _('Names kept pointing at the router\'s WAN addresses.'));
		s.addremove = true;
		s.anonymous = false;
		o = s.option(form.Value, 'domain', _('Name'));
		o.datatype = 'hostname';
		o.rmempty = false;
		o = s.option(form.ListValue, 'provider', _('DNS provider'));
		sectionNames('provider').forEach(function(p) { o.value(p); });
		o = s.option(form.Flag, 'ipv4', _('IPv4 (A)'));
		o.default = '1';
		o = s.option(form.Flag, 'ipv6', _('IPv6 (AAAA)'));
		o.default = '1';
		o = s.option(form.ListValue, 'source', _('Addresses from'));
		o.value('', _('default (ubus)'));
		o.value('ubus', _('netifd (ubus)'));
		o.value('interface', _('the kernel\'s interface addresses'));
		o.value('web', _('web echo services'));
		o.value('route', _('the default route\'s source address'));
		o.value('script', _('a script'));
		o.optional = true;
		o = s.option(widgets.NetworkSelect, 'interface', _('WAN interface'), _('Default: the interface carrying the default route.'));
		o.nocreate = true;
		o.optional = true;
		o.depends({ source: /^(|ubus|interface)$/ });
		o = s.option(form.DynamicList, 'web_url', _('Echo services'), _('Tried in order. Empty: the built-in list.'));
		o.depends('source', 'web');
		o = s.option(form.DynamicList, 'script', _('Script'), _('Program, then one argument per entry; every address it prints. Never run by a shell.'));
		o.depends('source', 'script');
		o = s.option(form.Value, 'host_suffix', _('LAN host: address suffix'), _('Publish this LAN host\'s AAAA: the delegated prefix + this suffix (e.g. ::1:2).'));
		o.optional = true;
		o = s.option(form.Value, 'mac', _('LAN host: MAC address'), _('Or the host\'s EUI-64 identifier from its MAC.'));
		o.datatype = 'macaddr';
		o.optional = true;
		o = s.option(widgets.NetworkSelect, 'lan_interface', _('LAN interface'));
		o.nocreate = true;
		o.optional = true;
		o.placeholder = 'lan';
		o = s.option(form.ListValue, 'cgnat', _('Behind carrier-grade NAT'), _('When the WAN IPv4 address is private or shared (100.64.0.0/10).'));
		o.value('skip', _('leave the A record alone'));
		o.value('web', _('publish the address the web sees'));
		o.optional = true;
		o = s.option(form.Flag, 'nat_check', _('Confirm a new IPv4 with a web echo'));
		o.default = '1';
		o = s.option(form.Value, 'ttl', _('TTL (s)'));
		o.datatype = 'uinteger';
		o.placeholder = '300';
		o.optional = true;
		o = s.option(form.Value, 'force_interval', _('Re-check an unchanged record after'), _('e.g. 72h; 0: never.'));
		o.placeholder = '72h';
		o.optional = true;

		// Certificates
		s = m.section(form.TypedSection, 'cert', _('Certificates'), _('Files: /etc/wancert/certs/NAME/key.pem and fullchain.pem.'));
		s.addremove = true;
		s.anonymous = false;
		o = s.option(form.DynamicList, 'domain', _('Names'), _('The first is the subject. *.example.com for a wildcard.'));
		o.rmempty = false;
		o = s.option(form.ListValue, 'provider', _('DNS provider'));
		sectionNames('provider').forEach(function(p) { o.value(p); });
		o.rmempty = false;
		o = s.option(form.ListValue, 'key_type', _('Key type'));
		o.value('ec256', _('ECDSA P-256'));
		o.value('ec384', _('ECDSA P-384'));
		o = s.option(form.Value, 'acme_server', _('ACME server'), _('This certificate\'s CA, instead of the global one.'));
		o.optional = true;
		o = s.option(form.Value, 'profile', _('Profile'), _('A profile the CA offers, e.g. tlsserver or shortlived.'));
		o.optional = true;
		o = s.option(form.Value, 'renew_days', _('Renew days before expiry'), _('Empty: when the CA suggests (ARI), else at a third of the lifetime.'));
		o.datatype = 'uinteger';
		o.optional = true;
		o = s.option(form.ListValue, 'challenge', _('Challenge'));
		o.value('dns-01');
		o.value('dns-persist-01');
		o.optional = true;
		o = s.option(form.Value, 'challenge_alias', _('Challenge alias'), _('CNAME delegation: the name _acme-challenge points to.'));
		o.datatype = 'hostname';
		o.optional = true;
		o = s.option(form.MultiValue, 'deploy', _('Deploy to'));
		sectionNames('deploy').forEach(function(d) { o.value(d); });
		o.optional = true;

		// Deploy targets
		s = m.section(form.TypedSection, 'deploy', _('Deploy targets'), _('Where a certificate goes after each renewal.'));
		s.addremove = true;
		s.anonymous = false;
		typeOption(s, deployers, _('deploy'));
		o = s.option(form.ListValue, 'redirect', _('Port forward'), _('The service behind this port forward gets the certificate, and is checked to serve it.'));
		o.value('', _('none'));
		targets.forEach(function(t) { o.value(t.name, '%s (%s)'.format(t.name, t.about)); });
		o.depends({ type: /^(uhttpd|file)$/, '!reverse': true });
		o = s.option(form.Value, 'uhttpd_config', _('uhttpd configuration'));
		o.depends('type', 'uhttpd');
		o.placeholder = '/etc/config/uhttpd';
		o = s.option(form.Value, 'section', _('uhttpd section'));
		o.depends('type', 'uhttpd');
		o.placeholder = 'main';
		[ [ 'fullchain_path', _('Full chain file') ], [ 'cert_path', _('Certificate file') ],
		  [ 'chain_path', _('Intermediates file') ], [ 'key_path', _('Key file (0600)') ] ].forEach(function(f) {
			o = s.option(form.Value, f[0], f[1]);
			o.depends('type', 'file');
			o.depends('type', 'ssh');
			o.optional = true;
		});
		o = s.option(form.Value, 'combined_path', _('Chain + key in one file'), _('haproxy, lighttpd'));
		o.depends('type', 'file');
		o.optional = true;
		o = s.option(form.Value, 'mode', _('Key file mode'), _('Default 0600; never readable by others.'));
		o.depends('type', 'file');
		o.placeholder = '0600';
		o.optional = true;
		o = s.option(form.Value, 'owner', _('Owner'), _('user[:group]'));
		o.depends('type', 'file');
		o.optional = true;
		o = s.option(form.Value, 'host', _('Host'), _('Instead of a port forward.'));
		o.depends('type', 'ssh');
		o.datatype = 'host';
		o.optional = true;
		o = s.option(form.Value, 'port', _('SSH port'));
		o.depends('type', 'ssh');
		o.datatype = 'port';
		o.placeholder = '22';
		o = s.option(form.Value, 'user', _('User'));
		o.depends('type', 'ssh');
		o.placeholder = 'root';
		o = s.option(form.Value, 'identity', _('Private key file'), _('Dropbear format for dbclient, OpenSSH format for ssh.'));
		o.depends('type', 'ssh');
		o = s.option(form.DynamicList, 'host_key', _('Host keys'), _('The host\'s public host keys (its /etc/ssh/ssh_host_*_key.pub lines).'));
		o.depends('type', 'ssh');
		o = s.option(form.ListValue, 'client', _('SSH client'));
		o.depends('type', 'ssh');
		o.value('', _('from the key\'s format'));
		o.value('dbclient');
		o.value('ssh');
		o.optional = true;
		o = s.option(form.DynamicList, 'reload', _('Reload command'), _('One argument per entry; never run by a local shell (ssh: each word is quoted for the remote shell).'));
		o.depends('type', 'file');
		o.depends('type', 'ssh');
		o = s.option(form.Value, 'url', _('URL'));
		o.depends('type', 'webhook');
		o = s.option(form.Value, 'token', _('Bearer token'));
		o.depends('type', 'webhook');
		o.password = true;
		o.optional = true;
		o = s.option(form.Value, 'hmac_secret', _('HMAC secret'), _('Signs the body: X-Wancert-Signature.'));
		o.depends('type', 'webhook');
		o.password = true;
		o.optional = true;
		o = s.option(form.Flag, 'include_key', _('Include the key'));
		o.depends('type', 'webhook');
		o.default = '1';
		o = s.option(form.Value, 'ca_file', _('Receiver\'s CA (PEM)'));
		o.depends('type', 'webhook');
		o.optional = true;
		o = s.option(form.Value, 'verify', _('Check the served certificate at'), _('HOST:PORT, or off. Default: the port forward\'s target.'));
		o.optional = true;

		// Notifications
		s = m.section(form.TypedSection, 'notify', _('Notifications'), _('Let\'s Encrypt sends no expiry mail: this is how you hear that renewals fail.'));
		s.addremove = true;
		s.anonymous = true;
		typeOption(s, notifiers, _('notification'));
		o = s.option(form.MultiValue, 'event', _('Events'), _('All when none is chosen.'));
		o.value('renewed', _('renewed'));
		o.value('failed', _('failed'));
		o.value('expiring', _('expiring while renewals fail'));
		o.optional = true;
		o = s.option(form.Value, 'url', _('URL'));
		o.depends('type', 'webhook');
		o = s.option(form.DynamicList, 'header', _('Headers'), _('Name: value'));
		o.depends('type', 'webhook');
		o = s.option(form.Value, 'server', _('ntfy server'));
		o.depends('type', 'ntfy');
		o.placeholder = 'https://ntfy.sh';
		o = s.option(form.Value, 'topic', _('Topic'));
		o.depends('type', 'ntfy');
		o = s.option(form.Value, 'token', _('Access token'));
		o.depends('type', 'ntfy');
		o.password = true;
		o = s.option(form.Value, 'bot_token', _('Bot token'));
		o.depends('type', 'telegram');
		o.password = true;
		o = s.option(form.Value, 'chat_id', _('Chat id'));
		o.depends('type', 'telegram');
		o = s.option(form.DynamicList, 'command', _('Command'), _('Program, then one argument per entry. The event is in WANCERT_* environment variables.'));
		o.depends('type', 'command');

		return m.render();
	}
});
