'use strict';
'require view';
'require fs';
'require ui';
'require poll';
'require dom';

// Everything shown here comes from `wancert status --json` (docs/status.md),
// schema version 1. Runs are started detached (`--background`): rpcd ends
// what LuCI runs after a few seconds, and issuing takes longer. The page then
// polls the status until the run has ended.

var WANCERT = '/usr/bin/wancert';
var SCHEMA_VERSION = 1;

function loadStatus() {
	return fs.exec(WANCERT, [ 'status', '--json' ]).then(function(res) {
		if (res.code !== 0)
			throw new Error((res.stderr || res.stdout || '').trim() || _('wancert status failed'));
		var st = JSON.parse(res.stdout);
		if (st.version !== SCHEMA_VERSION)
			throw new Error(_('wancert status has schema version %s; this page knows version %s: update luci-app-wancert').format(st.version, SCHEMA_VERSION));
		return st;
	});
}

function when(t) {
	return t ? new Date(t).toLocaleString() : '-';
}

function badge(ok, yes, no) {
	return E('span', { 'class': 'label', 'style': 'background:' + (ok ? '#4caf50' : '#e53935') + ';color:#fff;padding:0 .4em;border-radius:3px' }, ok ? yes : no);
}

function table(headers, rows) {
	var t = E('table', { 'class': 'table' }, [
		E('tr', { 'class': 'tr table-titles' }, headers.map(function(h) { return E('th', { 'class': 'th' }, h); }))
	]);
	rows.forEach(function(r) {
		t.appendChild(E('tr', { 'class': 'tr' }, r.map(function(c) { return E('td', { 'class': 'td' }, c); })));
	});
	if (!rows.length)
		t.appendChild(E('tr', { 'class': 'tr placeholder' }, E('td', { 'class': 'td', 'colspan': headers.length }, E('em', _('None configured')))));
	return t;
}

function runSection(st) {
	var lr = st.last_run;
	var text;
	if (st.running)
		text = E('strong', _('A run is in progress (started %s)').format(when(lr && lr.started)));
	else if (lr && lr.finished)
		text = _('Last run: %s, ended %s with %s').format(when(lr.started), when(lr.finished),
			lr.exit_code === 0 ? _('success') : lr.exit_code === 1 ? _('nothing to do') : _('errors (see the log)'));
	else if (lr)
		text = _('Last run started %s and did not finish').format(when(lr.started));
	else
		text = _('No run since boot; cron runs wancert every hour.');
	return E('p', {}, text);
}

function wanSection(st) {
	if (!st.wan)
		return E([]);
	var w = st.wan;
	return E('div', { 'class': 'cbi-section' }, [
		E('h3', _('WAN addresses')),
		table([ _('IPv4'), _('IPv6'), _('Checked') ], [[
			(w.ipv4 || []).join(', ') || '-', (w.ipv6 || []).join(', ') || '-', when(w.checked)
		]])
	]);
}

function ddnsSection(st) {
	if (!st.ddns)
		return E([]);
	return E('div', { 'class': 'cbi-section' }, [
		E('h3', _('DDNS records')),
		table([ _('Record'), _('Name'), _('Addresses'), _('State'), _('Last update') ], st.ddns.map(function(d) {
			return [
				d.name, d.domain, (d.addresses || []).join(', ') || '-',
				d.last_error ? E('span', { 'title': d.last_error }, badge(false, '', _('Error: %s').format(d.last_error)))
					: (d.current === undefined ? '-' : badge(d.current, _('Current'), _('Outdated'))),
				when(d.last_update)
			];
		}))
	]);
}

function deployCell(targets) {
	if (!targets.length)
		return '-';
	return E('ul', { 'style': 'margin:0;padding-left:1em' }, targets.map(function(t) {
		var parts = [ E('strong', t.name), ' ', badge(t.current, _('deployed'), _('pending')) ];
		if (t.verified !== undefined)
			parts.push(' ', badge(t.verified, _('verified'), _('verification failed')));
		if (t.last_error)
			parts.push(E('div', { 'class': 'cbi-value-description' }, t.last_error));
		if (t.verify_error)
			parts.push(E('div', { 'class': 'cbi-value-description' }, t.verify_error));
		return E('li', parts);
	}));
}

function certSection(st) {
	return E('div', { 'class': 'cbi-section' }, [
		E('h3', _('Certificates')),
		table([ _('Certificate'), _('Names'), _('Expires'), _('Next renewal'), _('Last error'), _('Deploy targets') ], st.certs.map(function(c) {
			var expires = c.installed ? '%s (%s)'.format(when(c.not_after), _('%d days').format(c.days_left)) : _('not issued yet');
			var next = c.due ? _('due: at the next run') : when(c.next_attempt);
			return [ c.name, c.domains.join(', '), expires, next, c.last_error || '-', deployCell(c.deploy) ];
		}))
	]);
}

return view.extend({
	load: function() {
		return loadStatus().catch(function(e) { return { error: e.message }; });
	},

	// Start a detached run, then poll until it has ended.
	start: function(args, ev) {
		var view = this;
		var button = ev.currentTarget;
		button.disabled = true;
		return fs.exec(WANCERT, args).then(function(res) {
			if (res.code === 1)
				ui.addNotification(null, E('p', _('A run is already in progress.')), 'info');
			else if (res.code !== 0)
				throw new Error((res.stderr || res.stdout || '').trim() || _('could not start wancert'));
			var check = function() {
				return loadStatus().then(function(st) {
					view.update(st);
					if (!st.running) {
						poll.remove(check);
						button.disabled = false;
						ui.addNotification(null, E('p', _('The run has ended: see the certificates below and the log.')), 'info');
					}
				});
			};
			poll.add(check, 2);
		}).catch(function(e) {
			button.disabled = false;
			ui.addNotification(null, E('p', e.message), 'danger');
		});
	},

	update: function(st) {
		var box = document.getElementById('wancert-status');
		if (box)
			dom.content(box, this.renderStatus(st));
	},

	renderStatus: function(st) {
		if (st.error)
			return E('div', { 'class': 'alert-message warning' }, st.error);
		return E([ runSection(st), wanSection(st), ddnsSection(st), certSection(st) ]);
	},

	render: function(st) {
		var view = this;
		var renewAll = function(ev) {
			var target = ev.currentTarget;
			ui.showModal(_('Renew every certificate now?'), [
				E('p', _('Every certificate is issued again, even those not due. The CA limits how often the same names may be issued (Let\'s Encrypt: 5 per week); use Run now for the ones that are due.')),
				E('div', { 'class': 'right' }, [
					E('button', { 'class': 'btn', 'click': ui.hideModal }, _('Cancel')), ' ',
					E('button', { 'class': 'btn cbi-button-negative', 'click': function() {
						ui.hideModal();
						view.start([ '--background', 'renew', '--force' ], { currentTarget: target });
					} }, _('Renew all'))
				])
			]);
		};
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', _('wancert')),
			E('div', { 'class': 'cbi-map-descr' }, _('Certificates from an ACME CA (DNS-01), DDNS records, and where the certificates are deployed.')),
			E('div', { 'class': 'cbi-page-actions', 'style': 'text-align:left' }, [
				E('button', { 'class': 'btn cbi-button-action', 'click': ui.createHandlerFn(this, 'start', [ '--background', 'run' ]) }, _('Run now')), ' ',
				E('button', { 'class': 'btn cbi-button-negative', 'click': renewAll }, _('Renew all now…'))
			]),
			E('div', { 'id': 'wancert-status' }, this.renderStatus(st))
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
