'use strict';
'require view';
'require fs';
'require poll';

// wancert's lines of the system log, through `wancert log` (the ACL lets
// LuCI run nothing but wancert), refreshed every 10 seconds.

function fetchLog() {
	return fs.exec('/usr/bin/wancert', [ 'log' ]).then(function(res) {
		return res.code === 0 ? (res.stdout || '').trim() || _('No wancert messages in the log yet.')
			: (res.stderr || '').trim() || _('Could not read the log.');
	}).catch(function(e) { return e.message; });
}

return view.extend({
	load: fetchLog,

	render: function(text) {
		var area = E('textarea', { 'style': 'width:100%;font-family:monospace', 'readonly': 'readonly', 'wrap': 'off', 'rows': 30 }, [ text ]);
		poll.add(function() {
			return fetchLog().then(function(t) {
				area.value = t;
				area.scrollTop = area.scrollHeight;
			});
		}, 10);
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', _('wancert log')),
			E('div', { 'class': 'cbi-map-descr' }, _('Messages of wancert in the system log (syslog tag wancert).')),
			area
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
