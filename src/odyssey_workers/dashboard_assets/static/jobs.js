// odyssey-workers: rq-dashboard 0.9's jobs.js, building rows and pagination from text. The
// empty, compact and requeue-all buttons are links to POST-only routes: they are posted here.
(function ($, d) {
    var p = d.page;
    var $tbody = $('table#jobs tbody');
    var $pages = $('div#page-selection ul');
    var canDelete = p.enableDelete === 'yes';

    var button = function (role, label, style) {
        return d.link('#', label).attr('data-role', role).addClass('btn btn-sm ' + style);
    };

    var row = function (job) {
        var $name = d.el('td').append(
            d.el('span', job.description, 'description ellipsify'),
            d.el('div', null, 'job_id').append(d.link(d.urls.jobView(job.id), job.id))
        );
        var $actions = d.el('td', null, 'actions narrow');
        if (job.exc_info) {
            $name.append(d.el('span', 'Failed ' + d.toRelative(job.ended_at), 'end_date'),
                         d.el('pre', job.exc_info, 'exc_info'));
            $actions.append(button('requeue-job-btn', 'Requeue', 'btn-outline-warning btn-block'));
        }
        if (canDelete) {
            $actions.append(button('delete-job-btn', 'Delete', 'btn-outline-danger'));
        }
        return d.el('tr').attr({ 'data-role': 'job', 'data-job-id': job.id }).append(
            $name, d.el('td').append(d.el('span', d.toRelative(job.created_at), 'creation_date')), $actions);
    };

    var pageItem = function (target, label, disabled, active) {
        var $item = d.el('li', null, 'page-item').append(d.link(target ? target.url : '#', label).addClass('page-link'));
        return $item.toggleClass('disabled', Boolean(disabled || !target)).toggleClass('active', Boolean(active));
    };

    var showPagination = function (pagination) {
        var none = pagination.num_pages === 0;
        $pages.empty().append(
            pageItem(pagination.first_page, '\u00ab', pagination.current_page === 1 || none),
            pageItem(none ? null : pagination.prev_page, '\u2039')
        );
        pagination.pages_in_window.forEach(function (item) {
            $pages.append(pageItem(item, item.number, false, item.number === Number(p.page)));
        });
        $pages.append(
            pageItem(pagination.next_page, '\u203a'),
            pageItem(pagination.last_page, '\u00bb', pagination.current_page === pagination.num_pages || none)
        );
    };

    var reload = function (done) {
        $.getJSON(d.urls.jobsData(p.queue, p.registry, p.perPage, p.order, p.page)).done(function (data) {
            $tbody.empty();
            if (data.jobs.length === 0) {
                $tbody.append(d.el('tr').append(d.el('td', 'No jobs.').attr('colspan', 3)));
            }
            data.jobs.forEach(function (job) { $tbody.append(row(job)); });
            showPagination(data.pagination);
        }).always(done || $.noop);
    };

    d.poll(reload);

    var postButton = function (selector, action) {
        $(selector).on('click', function (event) {
            event.preventDefault();
            var url = $(this).attr('href');
            d.confirmThen(action, function () {
                $.post(url).done(function () { reload(); });
            });
        });
    };
    postButton('#empty-btn', 'empty');
    postButton('#compact-btn', 'compact');
    postButton('#requeue-all-btn', 'requeue all');

    var removeRowAfter = function ($row, url) {
        $.post(url).done(function () {
            $row.fadeOut('fast', function () { $row.remove(); });
        });
    };

    $tbody.on('click', '[data-role=delete-job-btn]', function (event) {
        event.preventDefault();
        var $row = $(this).parents('tr');
        d.confirmThen('delete job', function () {
            removeRowAfter($row, d.urls.deleteJob($row.attr('data-job-id')));
        });
    });

    $tbody.on('click', '[data-role=requeue-job-btn]', function (event) {
        event.preventDefault();
        var $row = $(this).parents('tr');
        removeRowAfter($row, d.urls.requeueJob($row.attr('data-job-id')));
    });

    // Changing any filter opens that view (an empty queue box means the default queue).
    $('#select-queue').on('click', function () { $(this).val(''); });
    $('#select-queue').on('mouseleave', function () {
        if ($(this).val() === '') { $(this).val(p.queue); }
    });
    $('#select-queue, #select-registry, #select-sort-order, #select-per-page').on('change', function () {
        window.location.href = d.urls.jobsView($('#select-queue').val() || 'default', $('#select-registry').val(),
                                               $('#select-per-page').val(), $('#select-sort-order').val(), 1);
    });
})(jQuery, dashboard);
