using System.Security.Cryptography;
using System.Text;

namespace XdsServer.Operations;

/// <summary>The status page's fixed style and script, and the Content-Security-Policy that allows exactly them (by
/// hash): nothing else may run or load on the page, whatever a node id holds.</summary>
internal static class StatusPageScript
{
    public const string Style =
        "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.2em 2em;color:#1d2430;background:#fafbfc}"
        + "h1{margin:.2em 0}h2{margin-top:1.6em;border-bottom:1px solid #d8dde3;padding-bottom:.2em}"
        + "table{border-collapse:collapse;margin:.6em 0 1em;background:#fff;font-size:.92em}"
        + "th,td{border:1px solid #d8dde3;padding:.28em .6em;text-align:left;vertical-align:top}"
        + "th{background:#eef1f5;font-weight:600}table.facts th{width:16em}"
        + "td.sync{font-weight:600;white-space:nowrap}td.synced{color:#146c2e;background:#e8f5ec}"
        + "td.stale{color:#8a2a0a;background:#fdecea}td.not-sent{color:#6a737d}"
        + "code,td.id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.95em}"
        + ".meta,.note{color:#57606a}.warn{color:#8a2a0a;font-weight:600}"
        + "figure{margin:.4em 0;background:#fff;border:1px solid #d8dde3;padding:.6em;display:inline-block}"
        + "figcaption{color:#57606a;font-size:.9em}svg text{font-size:11px;fill:#57606a}";

    public const string Chart = """
        (function () {
          var source = document.getElementById('push-history');
          var figure = document.getElementById('push-chart');
          if (!source || !figure) { return; }
          var data = JSON.parse(source.textContent);
          var b = data.buckets;
          var ns = 'http://www.w3.org/2000/svg';
          var W = 960, H = 260, L = 56, R = 70, T = 14, B = 40;
          var pw = W - L - R, ph = H - T - B;
          function el(name, attrs, text) {
            var e = document.createElementNS(ns, name);
            for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, String(attrs[k])); } }
            if (text !== undefined) { e.textContent = text; }
            return e;
          }
          function count(v) { return v >= 10 ? String(Math.round(v)) : String(Math.round(v * 10) / 10); }
          function ms(v) { return (v >= 10 ? Math.round(v) : Math.round(v * 100) / 100) + ' ms'; }
          function clock(t) { return new Date(t).toISOString().substring(11, 19); }
          var maxN = 4, maxMs = 0.01, i;
          for (i = 0; i < b.length; i++) {
            if (b[i].n > maxN) { maxN = b[i].n; }
            if (b[i].avg > maxMs) { maxMs = b[i].avg; }
          }
          var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', id: 'push-chart-svg',
            'aria-label': 'Responses sent and average push latency per ' + data.intervalSeconds + ' s', 'data-points': b.length });
          for (var g = 0; g <= 4; g++) {
            var gy = T + ph - ph * g / 4;
            svg.appendChild(el('line', { x1: L, x2: L + pw, y1: gy, y2: gy, stroke: '#e6e9ed' }));
            svg.appendChild(el('text', { x: L - 6, y: gy + 4, 'text-anchor': 'end' }, count(maxN * g / 4)));
            svg.appendChild(el('text', { x: L + pw + 6, y: gy + 4 }, ms(maxMs * g / 4)));
          }
          var bw = pw / b.length, points = [], bars = 0;
          for (i = 0; i < b.length; i++) {
            var x = L + i * bw;
            if (b[i].n > 0) {
              var h = Math.max(1, ph * b[i].n / maxN);
              var bar = el('rect', { x: (x + 0.5).toFixed(1), y: (T + ph - h).toFixed(1), width: Math.max(1, bw - 1).toFixed(1),
                height: h.toFixed(1), fill: '#7aa6da', 'class': 'bar' });
              bar.appendChild(el('title', {}, clock(b[i].t) + ': ' + b[i].n + ' responses, average ' + ms(b[i].avg) + ', longest ' + ms(b[i].max)));
              svg.appendChild(bar);
              bars++;
              points.push((x + bw / 2).toFixed(1) + ',' + (T + ph - ph * b[i].avg / maxMs).toFixed(1));
            }
            if (b[i].nacks > 0) {
              var nack = el('circle', { cx: (x + bw / 2).toFixed(1), cy: T + 4, r: 4, fill: '#c0392b', 'class': 'nack' });
              nack.appendChild(el('title', {}, clock(b[i].t) + ': ' + b[i].nacks + ' NACK(s)'));
              svg.appendChild(nack);
            }
          }
          if (points.length > 0) {
            svg.appendChild(el('polyline', { points: points.join(' '), fill: 'none', stroke: '#d9822b', 'stroke-width': 2, 'class': 'latency' }));
            for (i = 0; i < points.length; i++) {
              var xy = points[i].split(',');
              svg.appendChild(el('circle', { cx: xy[0], cy: xy[1], r: 3, fill: '#d9822b', 'class': 'latency-point' }));
            }
          } else {
            svg.appendChild(el('text', { x: L + pw / 2, y: T + ph / 2, 'text-anchor': 'middle' }, 'no responses sent in this window'));
          }
          var ticks = [0, Math.floor((b.length - 1) / 2), b.length - 1];
          for (i = 0; i < ticks.length; i++) {
            var tx = L + ticks[i] * bw + bw / 2;
            svg.appendChild(el('text', { x: tx.toFixed(1), y: H - B + 16, 'text-anchor': i === 0 ? 'start' : (i === 2 ? 'end' : 'middle') }, clock(b[ticks[i]].t) + ' UTC'));
          }
          svg.appendChild(el('rect', { x: L, y: H - 14, width: 10, height: 10, fill: '#7aa6da' }));
          svg.appendChild(el('text', { x: L + 14, y: H - 5 }, 'responses sent (left axis)'));
          svg.appendChild(el('line', { x1: L + 190, x2: L + 206, y1: H - 9, y2: H - 9, stroke: '#d9822b', 'stroke-width': 2 }));
          svg.appendChild(el('text', { x: L + 210, y: H - 5 }, 'average push latency (right axis)'));
          svg.appendChild(el('circle', { cx: L + 420, cy: H - 9, r: 4, fill: '#c0392b' }));
          svg.appendChild(el('text', { x: L + 428, y: H - 5 }, 'NACK'));
          svg.setAttribute('data-bars', String(bars));
          figure.insertBefore(svg, figure.firstChild);
          figure.setAttribute('data-drawn', 'true');
        })();
        """;

    /// <summary>The page's Content-Security-Policy: only this script and this style, nothing loaded from anywhere.</summary>
    public static readonly string Policy =
        $"default-src 'none'; script-src '{Hash(Chart)}'; style-src '{Hash(Style)}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static string Hash(string text) => "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
