// odyssey-workers: rq-dashboard 0.9's job.js. Each field of the job is set with .text(): a
// result, description, metadata or traceback containing markup shows as that markup, inert.
(function ($, d) {
    var jobId = d.page.jobId;

    var when = function (universal) {
        return universal ? d.toRelative(universal) + ' / ' + d.toShort(universal) : '-';
    };

    var field = function (name) { return $('#job-data [data-field=' + name + ']'); };

    var show = function (job) {
        ['description', 'origin', 'status', 'metadata', 'exc_info'].forEach(function (name) {
            field(name).text(job[name] === null || job[name] === undefined ? '' : String(job[name]));
        });
        field('result').text(JSON.stringify(job.result, null, 2));
        ['created_at', 'enqueued_at', 'started_at', 'ended_at'].forEach(function (name) {
            field(name).text(when(job[name]));
        });
        var $deps = field('depends_on').empty();
        (job.depends_on || []).forEach(function (dependency, i) {
            var active = job.depends_on_status[i] === 'active';
            $deps.append(d.el('li').append(active ? d.link(d.urls.jobView(dependency), dependency)
                                                  : d.el('span', dependency + ' (Expired)')));
        });
        $('#requeue-job-btn').prop('hidden', job.status !== 'failed');
        $('#job-data').attr('data-loaded', 'yes');
    };

    d.poll(function (done) {
        $.getJSON(d.urls.jobData(jobId)).done(show).always(done);
    });

    $('#delete-job-btn').on('click', function () {
        d.confirmThen('delete job', function () {
            $.post(d.urls.deleteJob(jobId)).done(function () {
                window.location.href = d.urls.queuesView;
            });
        });
        return false;
    });

    $('#requeue-job-btn').on('click', function () {
        $.post(d.urls.requeueJob(jobId));
        return false;
    });
})(jQuery, dashboard);
