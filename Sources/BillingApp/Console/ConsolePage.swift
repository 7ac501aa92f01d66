/// The usage page served at /console (development and demos; a real platform embeds the
/// same console API in its own pages): balance, held and available amounts, this month's
/// free quota per service, calls and cost per day, the latest records, and a recharge that
/// goes through the Payment Service. Plain HTML, one small script, no external assets; all
/// data is rendered with `textContent`, never parsed as HTML.
enum ConsolePage {
    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Billing · usage</title>
        <style>
        body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
        header { background: #1d2330; color: #fff; padding: 12px 24px; display: flex; gap: 16px; align-items: center; }
        header h1 { font-size: 18px; margin: 0; flex: 1; }
        main { max-width: 980px; margin: 0 auto; padding: 16px 24px 48px; }
        section { background: #fff; border-radius: 8px; padding: 16px 20px; margin: 16px 0; box-shadow: 0 1px 2px #0001; }
        h2 { font-size: 15px; margin: 0 0 12px; color: #4a5468; text-transform: uppercase; letter-spacing: .04em; }
        .cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
        .card { background: #f5f6f8; border-radius: 6px; padding: 10px 14px; }
        .card .label { color: #4a5468; font-size: 13px; }
        .card .value { font-size: 24px; font-weight: 600; }
        .quota { display: grid; grid-template-columns: 140px 1fr 150px; gap: 10px; align-items: center; margin: 6px 0; }
        .track { background: #e4e7ee; height: 12px; border-radius: 6px; overflow: hidden; display: flex; }
        .used { background: #3b6fd8; height: 100%; }
        .held { background: #e0a030; height: 100%; }
        svg text { font-size: 11px; fill: #4a5468; }
        svg .bar { fill: #3b6fd8; }
        svg .cost { fill: #d8553b; }
        table { border-collapse: collapse; width: 100%; font-size: 14px; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e4e7ee; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        #error { color: #b42318; min-height: 1em; }
        input, button { font: inherit; padding: 4px 8px; }
        button { background: #3b6fd8; color: #fff; border: 0; border-radius: 4px; padding: 6px 14px; cursor: pointer; }
        .totals span { margin-right: 24px; }
        </style>
        </head>
        <body>
        <header>
          <h1>Usage and billing</h1>
          <label>User <input id="user" size="18" autocomplete="off"></label>
          <button id="load" type="button">Show</button>
        </header>
        <main>
          <p id="error" role="alert"></p>
          <section>
            <h2>Balance</h2>
            <div class="cards">
              <div class="card"><div class="label">Balance</div><div class="value" id="balance">–</div></div>
              <div class="card"><div class="label">Held by pending holds</div><div class="value" id="held">–</div></div>
              <div class="card"><div class="label">Available</div><div class="value" id="available">–</div></div>
            </div>
            <p>
              <label>Recharge ¥ <input id="amount" value="10.00" size="8" inputmode="decimal"></label>
              <button id="recharge" type="button">Recharge</button>
            </p>
          </section>
          <section>
            <h2>Free quota this month</h2>
            <div id="quotas"></div>
          </section>
          <section>
            <h2>Calls and cost per day</h2>
            <svg id="chart" width="100%" height="220" viewBox="0 0 920 220" role="img" aria-label="calls and cost per day"></svg>
            <p class="totals">
              <span>Days: <b id="chart-days">–</b></span>
              <span>Calls: <b id="chart-calls">–</b></span>
              <span>Cost: <b id="chart-cost">–</b></span>
              <span><svg width="10" height="10"><rect class="bar" width="10" height="10"></rect></svg> calls
                <svg width="10" height="10"><circle class="cost" cx="5" cy="5" r="4"></circle></svg> cost</span>
            </p>
          </section>
          <section>
            <h2>Latest records</h2>
            <table>
              <thead><tr><th>Time</th><th>Service</th><th>Type</th><th class="num">Calls</th><th class="num">Amount</th></tr></thead>
              <tbody id="records"></tbody>
            </table>
          </section>
        </main>
        <script src="/console/console.js"></script>
        </body>
        </html>
        """
}
