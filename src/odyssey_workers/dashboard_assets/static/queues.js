// odyssey-workers: rq-dashboard 0.9's queues.js, building each row from text.
(function ($, d) {
    var $tbody = $('table#queues tbody');
    var counts = [
        ['queued_url', 'count', 'narrow'],
        ['deferred_url', 'deferred_job_registry_count', 'narrow'],
        ['scheduled_url', 'scheduled_job_registry_count', 'narrow'],
        ['started_url', 'started_job_registry_count', 'narrow'],
        ['finished_url', 'finished_job_registry_count', 'narrow'],
        ['failed_url', 'failed_job_registry_count', 'failed'],
        ['canceled_url', 'canceled_job_registry_count', 'failed']
    ];

    var row = function (queue) {
        var $row = d.el('tr').attr('data-role', 'queue').append(d.el('td', queue.name));
        counts.forEach(function (column) {
            $row.append(d.el('td', null, column[2]).append(d.link(queue[column[0]], queue[column[1]])));
        });
        return $row;
    };

    d.poll(function (done) {
        $.getJSON(d.urls.queues).done(function (data) {
            $tbody.empty();
            if (data.queues.length === 0) {
                $tbody.append(d.el('tr').append(d.el('td', 'No queues.').attr('colspan', 8)));
            }
            data.queues.forEach(function (queue) { $tbody.append(row(queue)); });
        }).always(done);
    });
})(jQuery, dashboard);
