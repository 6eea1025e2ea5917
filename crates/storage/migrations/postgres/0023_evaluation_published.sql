-- What the public evaluation shows, per closed month, commune and figure: the counters as
-- they were when the figure was last published. A figure is first published from at least
-- five cases, and published again only once at least five more have changed it, so two
-- readings (before and after one rating, say) never differ by a single person's case.
CREATE TABLE evaluation_published (
    month            TEXT NOT NULL,
    unit_code        TEXT NOT NULL,
    -- satisfaction, on_time, resolution or resolution_time
    figure           TEXT NOT NULL,
    published_at     TEXT NOT NULL,
    apps_decided     BIGINT NOT NULL DEFAULT 0,
    apps_on_time     BIGINT NOT NULL DEFAULT 0,
    app_ratings      BIGINT NOT NULL DEFAULT 0,
    app_score_sum    BIGINT NOT NULL DEFAULT 0,
    reports_received BIGINT NOT NULL DEFAULT 0,
    reports_resolved BIGINT NOT NULL DEFAULT 0,
    report_ratings   BIGINT NOT NULL DEFAULT 0,
    report_score_sum BIGINT NOT NULL DEFAULT 0,
    resolved_b0      BIGINT NOT NULL DEFAULT 0,
    resolved_b1      BIGINT NOT NULL DEFAULT 0,
    resolved_b2      BIGINT NOT NULL DEFAULT 0,
    resolved_b3      BIGINT NOT NULL DEFAULT 0,
    resolved_b4      BIGINT NOT NULL DEFAULT 0,
    resolved_b5      BIGINT NOT NULL DEFAULT 0,
    resolved_b6      BIGINT NOT NULL DEFAULT 0,
    resolved_b7      BIGINT NOT NULL DEFAULT 0,
    resolved_b8      BIGINT NOT NULL DEFAULT 0,
    resolved_b9      BIGINT NOT NULL DEFAULT 0,
    resolved_b10     BIGINT NOT NULL DEFAULT 0,
    resolved_b11     BIGINT NOT NULL DEFAULT 0,
    resolved_b12     BIGINT NOT NULL DEFAULT 0,
    resolved_b13     BIGINT NOT NULL DEFAULT 0,
    resolved_b14     BIGINT NOT NULL DEFAULT 0,
    resolved_b15     BIGINT NOT NULL DEFAULT 0,
    resolved_b16     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (month, unit_code, figure)
);
