package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

const (
	provisionerName  = "standin.chatbot.dev/local-path"
	storageClassName = "standard"
	provisionedBy    = "pv.kubernetes.io/provisioned-by"
)

// provisioner is the node's storage: the default StorageClass, whose
// claims get a directory of their own under the state directory, bound
// through a PersistentVolume as a dynamic provisioner does; released
// volumes are deleted with their directory.
type provisioner struct {
	client kubernetes.Interface
	claims corelisters.PersistentVolumeClaimLister
	pvs    corelisters.PersistentVolumeLister
	dir    string
}

func newProvisioner(client kubernetes.Interface, factory informers.SharedInformerFactory, stateDir string) *provisioner {
	return &provisioner{
		client: client,
		claims: factory.Core().V1().PersistentVolumeClaims().Lister(),
		pvs:    factory.Core().V1().PersistentVolumes().Lister(),
		dir:    filepath.Join(stateDir, "volumes"),
	}
}

func (p *provisioner) ensureStorageClass(ctx context.Context) error {
	classes := p.client.StorageV1().StorageClasses()
	if _, err := classes.Get(ctx, storageClassName, metav1.GetOptions{}); err == nil {
		return nil
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	binding := storagev1.VolumeBindingImmediate
	_, err := classes.Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        storageClassName,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		Provisioner:       provisionerName,
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &binding,
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func (p *provisioner) run(ctx context.Context) {
	every(ctx, 500*time.Millisecond, func() {
		p.provision(ctx)
		p.reclaim(ctx)
	})
}

func (p *provisioner) ours(claim *corev1.PersistentVolumeClaim) bool {
	for _, key := range []string{"volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner"} {
		if claim.Annotations[key] == provisionerName {
			return true
		}
	}
	return false
}

func (p *provisioner) provision(ctx context.Context) {
	claims, err := p.claims.List(labels.Everything())
	if err != nil {
		return
	}
	for _, claim := range claims {
		if claim.Spec.VolumeName != "" || claim.DeletionTimestamp != nil || !p.ours(claim) {
			continue
		}
		name := "pvc-" + string(claim.UID)
		if _, err := p.pvs.Get(name); err == nil {
			continue
		}
		path := filepath.Join(p.dir, name)
		if err := os.MkdirAll(path, 0o777); err != nil {
			fmt.Fprintf(os.Stderr, "node-standin: volume %s: %v\n", path, err)
			continue
		}
		os.Chmod(path, 0o777)
		size := claim.Spec.Resources.Requests[corev1.ResourceStorage]
		directory := corev1.HostPathDirectoryOrCreate
		class := storageClassName
		if claim.Spec.StorageClassName != nil {
			class = *claim.Spec.StorageClassName
		}
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{provisionedBy: provisionerName},
			},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
				AccessModes:                   claim.Spec.AccessModes,
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				StorageClassName:              class,
				VolumeMode:                    claim.Spec.VolumeMode,
				ClaimRef: &corev1.ObjectReference{
					Kind: "PersistentVolumeClaim", APIVersion: "v1",
					Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID,
				},
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &directory},
				},
			},
		}
		if _, err := p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			fmt.Fprintf(os.Stderr, "node-standin: provision %s/%s: %v\n", claim.Namespace, claim.Name, err)
		}
	}
}

func (p *provisioner) reclaim(ctx context.Context) {
	pvs, err := p.pvs.List(labels.Everything())
	if err != nil {
		return
	}
	for _, pv := range pvs {
		if pv.Annotations[provisionedBy] != provisionerName || pv.DeletionTimestamp != nil {
			continue
		}
		released := pv.Status.Phase == corev1.VolumeReleased || pv.Status.Phase == corev1.VolumeFailed
		if !released || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
			continue
		}
		if pv.Spec.HostPath != nil && filepath.Dir(pv.Spec.HostPath.Path) == p.dir {
			os.RemoveAll(pv.Spec.HostPath.Path)
		}
		err := p.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			fmt.Fprintf(os.Stderr, "node-standin: delete volume %s: %v\n", pv.Name, err)
		}
	}
}

// claimPath is the directory behind a bound claim of this node's storage.
func (p *provisioner) claimPath(namespace, name string) (string, error) {
	claim, err := p.claims.PersistentVolumeClaims(namespace).Get(name)
	if err != nil {
		return "", fmt.Errorf("persistentvolumeclaim %q not found", name)
	}
	if claim.Spec.VolumeName == "" || claim.Status.Phase != corev1.ClaimBound {
		return "", fmt.Errorf("persistentvolumeclaim %q is not bound", name)
	}
	pv, err := p.pvs.Get(claim.Spec.VolumeName)
	if err != nil {
		return "", fmt.Errorf("persistentvolume %q not found", claim.Spec.VolumeName)
	}
	switch {
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path, nil
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path, nil
	}
	return "", fmt.Errorf("persistentvolume %q is neither hostPath nor local", pv.Name)
}

// claimsBound says whether every claim `pod` mounts is bound, and names
// the first that is not.
func (p *provisioner) claimsBound(pod *corev1.Pod) (bool, string) {
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		claim, err := p.claims.PersistentVolumeClaims(pod.Namespace).Get(v.PersistentVolumeClaim.ClaimName)
		if err != nil {
			return false, fmt.Sprintf("persistentvolumeclaim %q not found", v.PersistentVolumeClaim.ClaimName)
		}
		if claim.Status.Phase != corev1.ClaimBound {
			return false, "pod has unbound immediate PersistentVolumeClaims"
		}
	}
	return true, ""
}
