{{/* Names and labels. */}}
{{- define "ragnest.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ragnest.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ragnest.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ragnest.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ragnest.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ragnest.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ragnest
{{- end -}}

{{- define "ragnest.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if hasPrefix "@" $tag -}}
{{- printf "%s%s" .Values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "ragnest.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ragnest.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ragnest.secretName" -}}
{{- default (include "ragnest.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{/*
The workloads of the chosen mode, as JSON: {component: {key, contexts, entry}}. `component` names the
Deployment and its pods' app.kubernetes.io/component label; `contexts` is RAG_CONTEXTS; `entry` is the
built app the container runs (apps/<entry>/main.ts).
*/}}
{{- define "ragnest.workloads" -}}
{{- $w := dict -}}
{{- if eq .Values.mode "monolith" -}}
{{- $_ := set $w "server" (dict "key" "monolith" "contexts" "all" "entry" "server") -}}
{{- else -}}
{{- range $key, $name := dict "gateway" "gateway" "ingestion" "ingestion" "queryUnderstanding" "query-understanding" "retrieval" "retrieval" "generation" "generation" "presentation" "presentation" -}}
{{- $_ := set $w $name (dict "key" $key "contexts" $name "entry" $name) -}}
{{- end -}}
{{- end -}}
{{- toJson $w -}}
{{- end -}}

{{/* The values block of a workload (contexts.<key> or monolith). */}}
{{- define "ragnest.workloadValues" -}}
{{- if eq .key "monolith" -}}
{{- toJson .root.Values.monolith -}}
{{- else -}}
{{- toJson (index .root.Values.contexts .key) -}}
{{- end -}}
{{- end -}}

{{/* The component that serves HTTP traffic: the gateway, or the monolith. */}}
{{- define "ragnest.httpComponent" -}}
{{- if eq .Values.mode "monolith" -}}server{{- else -}}gateway{{- end -}}
{{- end -}}

{{/* Seconds Kubernetes waits after starting termination: preStop, then the app's own grace, then 5 s. */}}
{{- define "ragnest.terminationGracePeriodSeconds" -}}
{{- add .Values.shutdown.preStopSeconds (div (add .Values.shutdown.graceMs 999) 1000) 5 -}}
{{- end -}}

{{/* Pod-level settings shared by every ragnest pod (Deployments and the migration Job). */}}
{{- define "ragnest.podCommon" -}}
serviceAccountName: {{ include "ragnest.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* The environment sources shared by every ragnest container. */}}
{{- define "ragnest.envFrom" -}}
envFrom:
  - configMapRef:
      name: {{ include "ragnest.fullname" . }}
  - secretRef:
      name: {{ include "ragnest.secretName" . }}
{{- end -}}

{{/*
Whether migrations run as the hook Job. Not with the in-cluster PostgreSQL: a pre-install hook runs before
the StatefulSet exists, so there every process migrates at start instead (under PostgreSQL's advisory lock).
*/}}
{{- define "ragnest.migrationJob" -}}
{{- if and .Values.migrations.enabled (not .Values.postgresql.enabled) -}}true{{- end -}}
{{- end -}}
