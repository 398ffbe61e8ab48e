// The objects tacosgen emits per service, plus Redis and a NodePool (scripts/bench.sh):
//   jsonnet -y --ext-code-file services=services.json main.jsonnet
local services = std.extVar('services').services;
local ns = 'synth';
local labels(name) = {
  app: name,
  'app.kubernetes.io/name': name,
  'app.kubernetes.io/component': 'api',
  'app.kubernetes.io/part-of': ns,
  'app.kubernetes.io/managed-by': 'jsonnet',
};
local meta(name) = { name: name, namespace: ns, labels: labels(name) };

local objects(s) = [
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(s.name), automountServiceAccountToken: false },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(s.name + '-config'),
    data: { PORT: std.toString(s.port) } + s.env,
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(s.name),
    spec: {
      revisionHistoryLimit: 5,
      selector: { matchLabels: { app: s.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: { labels: labels(s.name) },
        spec: {
          serviceAccountName: s.name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [{
                weight: 100,
                podAffinityTerm: {
                  labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [s.name] }] },
                  topologyKey: 'kubernetes.io/hostname',
                },
              }],
            },
          },
          containers: [{
            name: s.name,
            image: s.image,
            imagePullPolicy: 'IfNotPresent',
            ports: [{ name: 'http', containerPort: s.port, protocol: 'TCP' }],
            envFrom: [{ configMapRef: { name: s.name + '-config' } }],
            resources: {
              requests: { cpu: s.cpuRequest, memory: s.memoryRequest },
              limits: { cpu: s.cpuLimit, memory: s.memoryLimit },
            },
            readinessProbe: {
              httpGet: { path: '/readyz', port: s.port },
              initialDelaySeconds: 5,
              periodSeconds: 3,
              timeoutSeconds: 2,
              successThreshold: 1,
              failureThreshold: 2,
            },
            livenessProbe: {
              httpGet: { path: '/healthz', port: s.port },
              initialDelaySeconds: 30,
              periodSeconds: 10,
              timeoutSeconds: 5,
              successThreshold: 1,
              failureThreshold: 3,
            },
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              runAsNonRoot: true,
              capabilities: { drop: ['ALL'] },
            },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          }],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(s.name),
    spec: {
      type: 'ClusterIP',
      selector: { app: s.name },
      ports: [{ name: 'http', port: s.port, targetPort: 'http', protocol: 'TCP' }],
    },
  },
  {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(s.name),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
      minReplicas: s.minReplicas,
      maxReplicas: s.maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      behavior: {
        scaleUp: {
          stabilizationWindowSeconds: 0,
          selectPolicy: 'Max',
          policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }],
        },
        scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
      },
    },
  },
  {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(s.name),
    spec: { minAvailable: s.minAvailable, selector: { matchLabels: { app: s.name } } },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(s.name),
    spec: {
      podSelector: { matchLabels: { app: s.name } },
      policyTypes: ['Ingress'],
      ingress: [{
        from: [{ podSelector: { matchLabels: if s.from != null then { app: s.from } else { 'app.kubernetes.io/part-of': ns } } }],
        ports: [{ protocol: 'TCP', port: s.port }],
      }],
    },
  },
];

local redis(role, replicas) = [
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'redis-' + role, namespace: ns },
    spec: {
      serviceName: 'redis-' + role,
      replicas: replicas,
      selector: { matchLabels: { app: 'redis', role: role } },
      template: {
        metadata: { labels: { app: 'redis', role: role } },
        spec: {
          containers: [{
            name: 'redis',
            image: 'redis:7.4.1',
            args: ['/etc/redis/' + role + '.conf'],
            ports: [{ name: 'redis', containerPort: 6379 }],
            resources: { requests: { cpu: '500m', memory: '3Gi' }, limits: { cpu: '2000m', memory: '4Gi' } },
            volumeMounts: [{ name: 'config', mountPath: '/etc/redis' }],
          }],
          volumes: [{ name: 'config', configMap: { name: 'redis-config' } }],
        },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'redis-' + role, namespace: ns },
    spec: { selector: { app: 'redis', role: role }, ports: [{ name: 'redis', port: 6379, targetPort: 'redis' }] },
  },
];

std.flattenArrays([objects(s) for s in services]) + [
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'redis-config', namespace: ns },
    data: {
      'master.conf': 'port 6379\nmaxmemory 2gb\nmaxmemory-policy allkeys-lru\nmaxclients 60000\nsave ""\nappendonly no\n',
      'replica.conf': 'port 6379\nreplica-read-only yes\nmaxmemory 2gb\n',
    },
  },
] + redis('master', 1) + redis('replica', 3) + [
  {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name: 'pool-0' },
    spec: {
      template: {
        spec: {
          nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'pool-0' },
          requirements: [
            { key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['m5.2xlarge'] },
            { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] },
          ],
        },
      },
      limits: { cpu: '4000', memory: '16000Gi' },
      disruption: { consolidationPolicy: 'WhenEmptyOrUnderutilized', consolidateAfter: '5m' },
    },
  },
]
