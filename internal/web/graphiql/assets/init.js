// Starts GraphiQL on sprocketd's /graphiql page. The page has no inline
// script (its Content-Security-Policy forbids them): the options come from
// the JSON block #graphiql-options that the server writes into the page,
// and React, ReactDOM and GraphiQL are the UMD globals of the files served
// next to this one.
(function () {
  'use strict';

  var options = JSON.parse(document.getElementById('graphiql-options').textContent);

  function absolute(endpoint) {
    return new URL(endpoint, window.location.href);
  }

  // ws(s)://host/path for an endpoint given as a path or an http(s) URL.
  function webSocketURL(endpoint) {
    var u = absolute(endpoint);
    if (u.protocol === 'http:') {
      u.protocol = 'ws:';
    } else if (u.protocol === 'https:') {
      u.protocol = 'wss:';
    }
    return u.href;
  }

  var url = absolute(options.endpoint).href;
  var fetcher;
  if (typeof GraphiQL.createFetcher === 'function') {
    var fetcherOptions = { url: url };
    if (options.subscriptionEndpoint) {
      // graphql-transport-ws, opened only when a subscription runs.
      fetcherOptions.subscriptionUrl = webSocketURL(options.subscriptionEndpoint);
    }
    fetcher = GraphiQL.createFetcher(fetcherOptions);
  } else {
    // Queries and mutations only.
    fetcher = function (params) {
      return fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' },
        body: JSON.stringify(params),
        credentials: 'same-origin',
      }).then(function (response) {
        return response.json();
      });
    };
  }

  // GraphiQL names a tab after its operation; the tab's own name goes into a
  // comment on the first line so that it is seen too.
  var tabs = (options.tabs || []).map(function (tab) {
    return {
      query: tab.name ? '# ' + tab.name + '\n' + tab.query : tab.query,
      variables: tab.variables || undefined,
    };
  });

  var props = { fetcher: fetcher };
  if (tabs.length > 0) {
    props.defaultTabs = tabs;
  }
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, props));
})();
