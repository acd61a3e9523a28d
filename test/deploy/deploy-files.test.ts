import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';

import { parseConfig, type RawSettings } from '../../core/config.js';
import { ROOT } from '../helpers/cli.js';

/** Every document of a YAML file, parsed by PyYAML (no Docker engine or Kubernetes API runs here). */
function yamlDocuments(file: string): Record<string, unknown>[] {
  const r = spawnSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} does not parse: ${r.stderr}`);
  return (JSON.parse(r.stdout) as (Record<string, unknown> | null)[]).filter((d): d is Record<string, unknown> => d !== null);
}

type Env = { name: string; value?: string; valueFrom?: unknown };
type Container = { args: string[]; env: Env[]; readinessProbe?: { httpGet: { path: string } } };
const containerOf = (doc: Record<string, unknown>) => ((doc.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!);

describe('deploy/: the files a deployment starts from', () => {
  const deploy = join(ROOT, 'deploy');

  it('the compose file: four node hosts, two gateways over them, nginx in front; each gateway\'s settings pass the configuration rules', () => {
    const [compose] = yamlDocuments(join(deploy, 'compose.yaml')) as { services: Record<string, { command?: string[]; environment?: Record<string, string>; volumes?: string[] }> }[];
    const services = compose!.services;
    const nodeNames = Object.keys(services).filter((s) => /^node\d$/.test(s));
    expect(nodeNames).toHaveLength(4);
    for (const n of nodeNames) {
      expect(services[n]!.command).toEqual(['node']);
      expect(services[n]!.environment!.NODE_DIR).toBe('/data');
      expect(services[n]!.volumes).toEqual([`${n}:/data`]);
    }
    for (const g of ['gateway1', 'gateway2']) {
      const env = services[g]!.environment!;
      expect(env.NODES!.split(',')).toEqual(nodeNames.map((n) => `http://${n}:9100`));
      const config = parseConfig({ ...env, CLUSTER_SECRET: 'a cluster secret', ACCESS_KEY: 'deploy-key', SECRET_KEY: 'deploy-secret-key' } as RawSettings);
      expect(config.data + config.parity).toBe(nodeNames.length);
    }
    const nginx = readFileSync(join(deploy, 'nginx.conf'), 'utf8');
    expect(nginx).toMatch(/server gateway1:9000/);
    expect(nginx).toMatch(/server gateway2:9000/);
    // S3 signatures cover the Host header; bodies must stream.
    expect(nginx).toMatch(/proxy_set_header Host \$http_host;/);
    expect(nginx).toMatch(/client_max_body_size 0;/);
  });

  it('Kubernetes: a StatefulSet of DATA+PARITY nodes with a volume each behind a headless Service, gateways ready by /_kintsugi/health/ready, at most PARITY nodes disrupted', () => {
    const docs = ['nodes.yaml', 'gateways.yaml', 'secret.example.yaml'].flatMap((f) => yamlDocuments(join(deploy, 'kubernetes', f)));
    const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
    const headless = byKind('Service').find((s) => (s.spec as { clusterIP?: string }).clusterIP === 'None')!;
    const nodes = byKind('StatefulSet')[0]!;
    const gateway = byKind('Deployment')[0]!;
    const pdb = byKind('PodDisruptionBudget')[0]!;
    const replicas = (nodes.spec as { replicas: number }).replicas;
    expect((nodes.spec as { serviceName: string }).serviceName).toBe((headless.metadata as { name: string }).name);
    expect((nodes.spec as { volumeClaimTemplates: unknown[] }).volumeClaimTemplates).toHaveLength(1);
    expect(containerOf(nodes).args).toEqual(['node']);
    expect((containerOf(nodes) as Container & { readinessProbe: { httpGet: { path: string } } }).readinessProbe.httpGet.path).toBe('/health');

    const env = Object.fromEntries(containerOf(gateway).env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    const config = parseConfig({ ...env, CLUSTER_SECRET: 'a cluster secret', ACCESS_KEY: 'deploy-key', SECRET_KEY: 'deploy-secret-key' } as RawSettings);
    expect(config.nodes).toEqual(Array.from({ length: replicas }, (_, i) => `http://kintsugi-node-${i}.kintsugi-node:9100`));
    expect(config.data + config.parity).toBe(replicas);
    expect(containerOf(gateway).readinessProbe!.httpGet.path).toBe('/_kintsugi/health/ready');
    expect((pdb.spec as { maxUnavailable: number }).maxUnavailable).toBe(config.parity);
    // The secret every pod reads its credentials from is one the example defines.
    const secretName = (byKind('Secret')[0]!.metadata as { name: string }).name;
    for (const c of [containerOf(nodes), containerOf(gateway)]) {
      for (const e of c.env.filter((x) => x.valueFrom)) expect((e.valueFrom as { secretKeyRef: { name: string } }).secretKeyRef.name).toBe(secretName);
    }
  });

  it('Kubernetes: every manifest passes the API\'s OpenAPI schema (kubernetes-models), with the kinds the deployment needs', () => {
    const models: Record<string, new (doc: never) => { validate(): void }> = {
      'apps/v1 StatefulSet': StatefulSet, 'apps/v1 Deployment': Deployment, 'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
      'v1 Secret': Secret, 'v1 Service': Service,
    };
    const kinds: string[] = [];
    for (const f of ['nodes.yaml', 'gateways.yaml', 'secret.example.yaml']) {
      for (const doc of yamlDocuments(join(deploy, 'kubernetes', f))) {
        const kind = `${doc.apiVersion as string} ${doc.kind as string}`;
        const Model = models[kind];
        expect(Model, `${f}: ${kind} is not a kind this deployment uses`).toBeDefined();
        expect(() => new Model!(doc as never).validate(), `${f}: ${kind}`).not.toThrow();
        kinds.push(kind);
      }
    }
    expect(new Set(kinds)).toEqual(new Set(Object.keys(models)));
  });

  it('the Dockerfile: Debian bookworm with Node 20 by default, a build stage that runs set-up, a runtime stage that copies its outputs and runs the built CLI', () => {
    const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG BASE=node:20-bookworm$/m);
    expect([...dockerfile.matchAll(/^FROM (.+)$/gm)].map((m) => m[1])).toEqual(['${BASE} AS build', '${BASE}']);
    // What the build stage copies from the context exists (the runtime stage copies from the build stage).
    for (const [, from] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const path of from!.split(' ')) expect(existsSync(join(ROOT, path)), path).toBe(true);
    }
    expect(dockerfile).toMatch(/RUN bash scripts\/setup\.sh --image/);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "\/opt\/kintsugi\/dist\/server\/cli\.js"\]/);
  });
});
