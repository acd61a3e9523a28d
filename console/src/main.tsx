import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';

import { currentSession, signOut } from './api';
import { Buckets } from './pages/buckets';
import { Metrics } from './pages/metrics';
import { Nodes } from './pages/nodes';
import { ObjectDetails } from './pages/object-details';
import { Objects } from './pages/objects';
import { SignIn } from './pages/sign-in';
import { href, parseRoute, type Route } from './router';
import { Uploads } from './upload';
import './app.css';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

function App() {
  const [user, setUser] = useState<string | null | undefined>(undefined);
  const [uploadsVersion, setUploadsVersion] = useState(0);
  const [listingVersion, setListingVersion] = useState(0);
  const uploads = useMemo(() => new Uploads(() => setUploadsVersion((v) => v + 1), () => setListingVersion((v) => v + 1)), []);
  const route = useRoute();
  useEffect(() => { void currentSession().then((s) => setUser(s?.accessKey ?? null)); }, []);

  if (user === undefined) return <p class="muted center">Loading…</p>;
  if (user === null) return <SignIn onSignedIn={setUser} />;
  const leave = async () => {
    await signOut().catch(() => undefined);
    setUser(null);
  };
  const tab = (name: Route['page'], label: string, to: string) => (
    <a href={to} aria-current={route.page === name || (name === 'buckets' && (route.page === 'objects' || route.page === 'object')) ? 'page' : undefined}>{label}</a>
  );
  return (
    <>
      <header>
        <strong class="brand">Kintsugi</strong>
        <nav>{tab('buckets', 'Buckets', href.buckets())}{tab('nodes', 'Nodes', href.nodes())}{tab('metrics', 'Metrics', href.metrics())}</nav>
        <span class="user">{user} <button onClick={leave}>Sign out</button></span>
      </header>
      <main>
        {route.page === 'buckets' && <Buckets />}
        {route.page === 'objects' && <Objects bucket={route.bucket} prefix={route.prefix} uploads={uploads} uploadsVersion={uploadsVersion} listingVersion={listingVersion} />}
        {route.page === 'object' && <ObjectDetails bucket={route.bucket} objectKey={route.key} />}
        {route.page === 'nodes' && <Nodes />}
        {route.page === 'metrics' && <Metrics />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
