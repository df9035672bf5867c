"""The yardstick for bench/w-district.sh: a district's report set made the
way a data team often makes it by hand, with public packages only (pandas,
Jinja2, matplotlib, WeasyPrint).

It does less than Sunward: no row checks, no rejects, no publication rules
(nothing is withheld), no Word files, no manifest. For the organisation and
each school it serves, an annual review (services by type, participants,
students reached, cases opened and closed, screenings, one bar chart); then
the district comparison (one row per school, a rate per 1,000 students, one
chart) and the government summary (the district's totals), each as HTML and
PDF.

    python bench/pandas_reports.py DATA_DIR OUT_DIR YEAR ACADEMIC_YEAR FONT
"""

import base64
import io
import pathlib
import sys

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import weasyprint  # noqa: E402
from matplotlib import font_manager  # noqa: E402

PAGE = jinja2.Template(
    """<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@font-face { font-family: report; src: url("file://{{ font }}"); }
body { font-family: report, sans-serif; margin: 2cm; }
table { border-collapse: collapse; } td, th { border: 1px solid #999; padding: 2px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
</style></head><body>
<h1>{{ title }}</h1>
{% for heading, rows, columns in tables %}
<h2>{{ heading }}</h2>
<table><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% endfor %}
{% if chart %}<p><img src="data:image/png;base64,{{ chart }}" style="width: 100%"></p>{% endif %}
</body></html>"""
)


def chart(labels, values, font):
    """A bar chart as base64 PNG."""
    prop = font_manager.FontProperties(fname=font)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(range(len(values)), values, color="#3b6ea5")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontproperties=prop, fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def write(out, name, title, tables, chart_png, font):
    html = PAGE.render(title=title, tables=tables, chart=chart_png, font=font)
    (out / f"{name}.html").write_text(html, encoding="utf-8")
    weasyprint.HTML(string=html).write_pdf(out / f"{name}.pdf")


def main():
    data, out, year, academic_year, font = sys.argv[1:6]
    data, out = pathlib.Path(data), pathlib.Path(out)
    year, academic_year = int(year), int(academic_year)
    font = str(pathlib.Path(font).resolve())
    out.mkdir(parents=True, exist_ok=True)

    schools = pd.read_csv(data / "schools.csv", dtype=str)
    services = pd.read_csv(data / "services.csv", dtype={"school_id": str}, parse_dates=["service_date"])
    cases = pd.read_csv(data / "cases.csv", dtype={"school_id": str}, parse_dates=["opened_on", "closed_on"])
    screenings = pd.read_csv(data / "screenings.csv", dtype={"school_id": str})
    enrolment = pd.read_csv(data / "enrolment.csv", dtype={"school_id": str})

    # Annual reviews: the calendar year, for each organisation and each school.
    in_year = services[services["service_date"].dt.year == year]
    units = [(s, [s]) for s in schools["school_id"]]
    for org, group in schools.groupby("org_id"):
        units.append((org, list(group["school_id"])))
    for unit, members in units:
        rows = in_year[in_year["school_id"].isin(members)]
        by_type = rows.groupby("service_type").agg(
            events=("record_id", "count"), participants=("participants", "sum")
        )
        opened = cases[cases["school_id"].isin(members) & (cases["opened_on"].dt.year == year)]
        closed = cases[cases["school_id"].isin(members) & (cases["closed_on"].dt.year == year)]
        screened = screenings[screenings["school_id"].isin(members) & (screenings["academic_year"] == academic_year)]
        totals = [
            ["服务人次", int(rows["participants"].sum())],
            ["服务学生", int(rows["student_ref"].nunique())],
            ["新开个案", len(opened)],
            ["结案", len(closed)],
            ["筛查人数", len(screened)],
        ]
        tables = [
            ("概况", totals, ["指标", "数值"]),
            ("服务类型", [[t, int(r.events), int(r.participants)] for t, r in by_type.iterrows()], ["类型", "次数", "人次"]),
        ]
        png = chart(list(by_type.index), list(by_type["events"]), font)
        write(out, f"annual-review_{year}_{unit}", f"{unit} {year} 年度服务报告", tables, png, font)

    # District comparison and government summary: the academic year.
    start, end = pd.Timestamp(academic_year, 9, 1), pd.Timestamp(academic_year + 1, 9, 1)
    in_ay = services[(services["service_date"] >= start) & (services["service_date"] < end)]
    students = enrolment[enrolment["academic_year"] == academic_year].set_index("school_id")["students"]
    per_school = in_ay.groupby("school_id").agg(
        events=("record_id", "count"), reached=("student_ref", "nunique")
    )
    per_school["per_1000"] = (per_school["reached"] / students.reindex(per_school.index) * 1000).round(1)
    names = schools.set_index("school_id")["school_name"]
    for district, group in schools.groupby("district_id"):
        rows = per_school[per_school.index.isin(group["school_id"])]
        table = [[names[s], int(r.events), int(r.reached), r.per_1000] for s, r in rows.iterrows()]
        png = chart([names[s] for s in rows.index], list(rows["per_1000"]), font)
        write(
            out,
            f"district-comparison_AY{academic_year}_{district}",
            f"{academic_year} 学年各校比较",
            [("各校", table, ["学校", "服务次数", "服务学生", "每千名学生"])],
            png,
            font,
        )
        summary = [
            ["学校数", len(group)],
            ["服务次数", int(rows["events"].sum())],
            ["服务学生", int(rows["reached"].sum())],
        ]
        write(
            out,
            f"government-summary_AY{academic_year}_{district}",
            f"{academic_year} 学年工作总结",
            [("总体", summary, ["指标", "数值"])],
            None,
            font,
        )


if __name__ == "__main__":
    main()
