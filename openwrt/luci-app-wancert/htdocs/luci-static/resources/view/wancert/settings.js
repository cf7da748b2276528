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
		o = s.option(form.Value, 'server', _('Server'));
		o.depends('type', 'rfc2136');
		o.datatype = 'host';
		o = s.option(form.Value, 'port', _('Port'));
		o.depends('type', 'rfc2136');
		o.datatype = 'port';
		o.placeholder = '53';
		o = s.option(form.Value, 'tsig_name', _('TSIG key name'));
		o.depends('type', 'rfc2136');
		o = s.option(form.ListValue, 'tsig_algorithm', _('TSIG algorithm'));
		o.depends('type', 'rfc2136');
		o.value('hmac-sha256');
		o.value('hmac-sha512');
		o = s.option(form.Value, 'tsig_secret', _('TSIG secret (base64)'));
		o.depends('type', 'rfc2136');
		o.password = true;
		o = s.option(form.Value, 'api_token', _('API token'));
		o.depends({ type: 'rfc2136', '!reverse': true });
		o.password = true;
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
		o.default = '0';
		o = s.option(form.Value, 'ttl', _('TTL (s)'));
		o.datatype = 'uinteger';
		o.placeholder = '300';
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
			o.optional = true;
		});
		o = s.option(form.DynamicList, 'reload', _('Reload command'), _('One argument per entry; never run by a shell.'));
		o.depends('type', 'file');

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
