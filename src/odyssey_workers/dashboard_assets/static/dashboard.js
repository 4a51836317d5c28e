// odyssey-workers: the shared part of rq-dashboard 0.9's inline script, as a static file.
// Every value from Redis is put into the page with .text() (never as HTML), and nothing is
// compiled at run time (no _.template): the Content-Security-Policy allows neither.
var dashboard = (function ($) {
    var page = document.body.dataset;
    var base = page.urlPrefix + page.instance;
    var path = function () {
        return Array.prototype.map.call(arguments, encodeURIComponent).join('/');
    };
    var state = { autorefresh: true };

    var urls = {
        queues: base + '/data/queues.json',
        queuesView: base + '/view/queues',
        workers: base + '/data/workers.json',
        jobsData: function (queue, registry, perPage, order, number) {
            return base + '/data/jobs/' + path(queue, registry, perPage, order, number) + '.json';
        },
        jobsView: function (queue, registry, perPage, order, number) {
            return base + '/view/jobs/' + path(queue, registry, perPage, order, number);
        },
        jobData: function (id) { return base + '/data/job/' + path(id) + '.json'; },
        jobView: function (id) { return base + '/view/job/' + path(id); },
        deleteJob: function (id) { return page.urlPrefix + 'job/' + path(id) + '/delete'; },
        requeueJob: function (id) { return page.urlPrefix + 'job/' + path(id) + '/requeue'; }
    };

    // Every state change is a POST with this session's token; the server refuses any other.
    $.ajaxSetup({ headers: { 'X-CSRFToken': $('meta[name=csrf-token]').attr('content') } });
    // A refused state change (a stale token after a restart, say) says why instead of doing nothing.
    $(document).ajaxError(function (event, xhr, options) {
        if (options.type === 'POST') {
            window.alert('Refused: ' + (xhr.responseText || xhr.statusText || 'no answer'));
        }
    });

    var toDate = function (universal) {
        var offset = new Date().getTimezoneOffset();
        return Date.create(universal).rewind({ minutes: offset });
    };

    var el = function (tag, text, className) {
        var $el = $(document.createElement(tag));
        if (text !== undefined && text !== null) { $el.text(String(text)); }
        if (className) { $el.addClass(className); }
        return $el;
    };

    var link = function (href, text) {
        return el('a', text).attr('href', href);
    };

    var confirmThen = function (action, callback) {
        $('#confirmation-modal-action').text(action);
        $('#confirmation-modal').modal('show');
        $('#confirmation-modal-yes').off('click').on('click', function () {
            $('#confirmation-modal').modal('hide');
            callback();
        });
        $('#confirmation-modal-no').off('click').on('click', function () {
            $('#confirmation-modal').modal('hide');
        });
    };

    // Calls load(done) now and again POLL_INTERVAL after each load ends, while autorefresh is on.
    var poll = function (load) {
        var interval = parseInt(page.pollInterval, 10) || 2500;
        var loop = function () {
            if (state.autorefresh) {
                load(function () { setTimeout(loop, interval); });
            } else {
                setTimeout(loop, interval);
            }
        };
        $(loop);
    };

    $('#autorefresh-switch').on('change', function () {
        state.autorefresh = $(this).prop('checked');
    });

    $('#rq-instances').on('change', function () {
        var number = $(this).find(':selected').data('instance-number');
        var rest = window.location.pathname.slice(page.urlPrefix.length).replace(/^[0-9]+/, '');
        window.location.pathname = page.urlPrefix + number + rest;
    });

    return {
        page: page,
        urls: urls,
        toRelative: function (universal) { return toDate(universal).relative(); },
        toShort: function (universal) { return toDate(universal).format(); },
        el: el,
        link: link,
        confirmThen: confirmThen,
        poll: poll
    };
})(jQuery);
