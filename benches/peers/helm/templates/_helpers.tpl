{{- define "bench.labels" -}}
app: {{ .name | quote }}
app.kubernetes.io/name: {{ .name | quote }}
app.kubernetes.io/component: "api"
app.kubernetes.io/part-of: {{ .ns | quote }}
app.kubernetes.io/managed-by: helm
{{- end -}}
