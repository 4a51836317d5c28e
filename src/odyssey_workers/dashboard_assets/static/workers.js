// odyssey-workers: rq-dashboard 0.9's workers.js, building each row from text. The current
// job is named by its catalog name (the description), not by its Python function path.
(function ($, d) {
    var $tbody = $('table#workers tbody');

    var row = function (worker) {
        var $name = d.el('td', worker.name);
        if (worker.version && worker.python_version) {
            $name.attr('title', 'RQ ' + worker.version + ' / Python ' + worker.python_version);
        }
        var $job;
        if (worker.current_job === 'idle') {
            $job = d.el('td', 'idle');
        } else {
            var job = worker.current_job;
            $job = d.el('td').attr('title', 'Job ID: ' + job.job_id + '\nDescription: ' + (job.description || '') +
                '\nCreated at: ' + d.toRelative(job.created_at));
            $job.append(d.link(d.urls.jobView(job.job_id), job.description || job.job_id));
        }
        return d.el('tr').attr('data-role', 'worker').append($name, $job, d.el('td', worker.queues.join(', ')));
    };

    d.poll(function (done) {
        $.getJSON(d.urls.workers).done(function (data) {
            $tbody.empty();
            if (data.workers.length === 0) {
                $tbody.append(d.el('tr').append(d.el('td', 'No workers.').attr('colspan', 3)));
            }
            data.workers.forEach(function (worker) { $tbody.append(row(worker)); });
        }).always(done);
    });
})(jQuery, dashboard);
